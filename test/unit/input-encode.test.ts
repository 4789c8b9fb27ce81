import { describe, expect, it } from 'vitest';
import { byteOrderMark, encoderFor } from '../../src/input/encode.js';

/** Every character the decoder yields from one-, two- (and for GB18030 four-) byte sequences, in one string. */
function decodable(encoding: string): string {
  const d = new TextDecoder(encoding);
  const out = new Set<string>();
  const add = (bytes: number[]) => {
    const s = d.decode(Uint8Array.from(bytes));
    if (!s.includes('\uFFFD') && [...s].length === 1) out.add(s);
  };
  for (let b = 0; b < 0x100; b++) add([b]);
  for (let lead = 0x81; lead < 0x100; lead++) for (let trail = 0x40; trail < 0x100; trail++) add([lead, trail]);
  if (encoding === 'gb18030') {
    for (let b1 = 0x81; b1 <= 0x84; b1++) for (let b2 = 0x30; b2 <= 0x39; b2++) for (let b3 = 0x81; b3 <= 0xfe; b3++) for (let b4 = 0x30; b4 <= 0x39; b4++) add([b1, b2, b3, b4]);
  }
  return [...out].join('');
}

describe('encoderFor: text back to the bytes of the encoding it was read in', () => {
  it.each(['gb18030', 'gbk', 'big5', 'shift_jis', 'euc-kr', 'windows-1252'])('%s: every character its decoder yields decodes back to itself', (encoding) => {
    const text = decodable(encoding);
    expect(text.length).toBeGreaterThan(encoding === 'windows-1252' ? 200 : 8000);
    const bytes = encoderFor(encoding)!(text);
    expect(new TextDecoder(encoding, { fatal: true }).decode(bytes)).toBe(text);
  });

  it('gb18030 holds all of Unicode: text beyond the BMP and beyond GBK round-trips; GBK writes "?" for what it cannot hold', () => {
    const text = '核心交换机,SW-01,"备注 ""x""" 😀 𠀀 € ẞ ᠠ\n';
    expect(new TextDecoder('gb18030', { fatal: true }).decode(encoderFor('gb18030')!(text))).toBe(text);
    expect(new TextDecoder('gbk').decode(encoderFor('gbk')!('交换机 😀'))).toBe('交换机 ?');
    expect([...encoderFor('gb18030')!('中')]).toEqual([0xd6, 0xd0]);
  });

  it('UTF-16 both ways, the marks of the Unicode encodings, and no encoder for the stateful ISO-2022-JP', () => {
    for (const e of ['utf-16le', 'utf-16be', 'utf-8']) expect(new TextDecoder(e).decode(encoderFor(e)!('交换机 😀'))).toBe('交换机 😀');
    expect([...encoderFor('utf-16be')!('A')]).toEqual([0x00, 0x41]);
    expect([...byteOrderMark('utf-8')]).toEqual([0xef, 0xbb, 0xbf]);
    expect([...byteOrderMark('utf-16le')]).toEqual([0xff, 0xfe]);
    expect([...byteOrderMark('utf-16be')]).toEqual([0xfe, 0xff]);
    expect(byteOrderMark('gb18030').length).toBe(0);
    expect(encoderFor('iso-2022-jp')).toBe(null);
  });
});
