import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInput } from '../../src/input/index.js';
import { collect, readAll, tempDir, usageError } from './input-helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

// "name,remark\n交换机,北京\n" followed by "x,备注\n", in GB18030 bytes
const GB = Buffer.concat([
  Buffer.from('name,remark\n'),
  Buffer.from('bdbbbbbbbbfa', 'hex'),
  Buffer.from(','),
  Buffer.from('b1b1bea9', 'hex'),
  Buffer.from('\nx,'),
  Buffer.from('b1b8d7a2', 'hex'),
  Buffer.from('\n'),
]);

describe('input encodings', () => {
  it('reads a GB18030 file with encoding gb18030 (and gbk)', async () => {
    const file = await t.write('gb.csv', GB);
    for (const encoding of ['gb18030', 'GBK']) {
      const recs = await readAll({ file, encoding });
      expect(recs.map((r) => ({ ...r.values }))).toEqual([
        { name: '交换机', remark: '北京' },
        { name: 'x', remark: '备注' },
      ]);
    }
  });

  it('stops on the same file without an encoding, naming the first bad line and suggesting gb18030', async () => {
    const file = await t.write('gb-noenc.csv', GB);
    const err = await usageError(openInput({ file }));
    expect(err.message).toBe(`${file} is not valid UTF-8 (first bad byte on line 2)`);
    expect(err.hint).toContain('--encoding gb18030');
  });

  it('finds the bad line deep in a file, after the first read chunk, while streaming', async () => {
    const good = 'id,name\n' + Array.from({ length: 30_000 }, (_, i) => `${i + 1},交换机-${i + 1}\n`).join('');
    const file = await t.write('late-bad.csv', Buffer.concat([Buffer.from(good), Buffer.from('30001,'), Buffer.from('b1b1bea9', 'hex'), Buffer.from('\n')]));
    const src = await openInput({ file }); // the header and first chunk are fine
    const err = await usageError(collect(src.records()));
    expect(err.message).toContain('first bad byte on line 30002');
    await src.close();
  });

  it('the GB18030 fixture reads exactly like the UTF-8 one', async () => {
    const utf8 = await readAll({ file: fixture('switches.csv') });
    const gb = await readAll({ file: fixture('switches.gb18030.csv'), encoding: 'gb18030' });
    expect(utf8.length).toBe(25);
    expect(gb).toEqual(utf8);
    expect(utf8[0]!.values.bk_inst_name).toBe('核心交换机-北京-01');
    await usageError(openInput({ file: fixture('switches.gb18030.csv') }));
  });

  it('keeps UTF-8 characters split across read chunks intact', async () => {
    // 3-byte characters in a file much larger than a read chunk: many land on a chunk boundary
    const rows = Array.from({ length: 40_000 }, (_, i) => `${i},${'交换机'.repeat((i % 5) + 1)}\n`).join('');
    const file = await t.write('split.csv', 'id,name\n' + rows);
    const recs = await readAll({ file });
    expect(recs.length).toBe(40_000);
    expect(recs.every((r, i) => r.values.name === '交换机'.repeat((i % 5) + 1))).toBe(true);
  });

  it('reads UTF-16LE with a BOM (explicitly, and by its BOM alone), stripping the BOM', async () => {
    const text = 'name\tv\n交换机\t1\n';
    const file = await t.write('u16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const explicit = await openInput({ file, encoding: 'utf-16le', delimiter: 'tab' });
    expect(explicit.columns).toEqual(['name', 'v']);
    expect((await collect(explicit.records()))[0]!.values).toEqual(Object.assign(Object.create(null), { name: '交换机', v: '1' }));
    const sniffed = await readAll({ file, delimiter: 'tab' });
    expect(sniffed[0]!.values.name).toBe('交换机');
  });

  it('Excel\'s "Unicode Text" (.txt, UTF-16LE with a BOM, tabs, CRLF) reads with no flags, and says how it is stored', async () => {
    const file = await t.write('unicode.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('名称\t端口\r\n交换机\t48\r\n', 'utf16le')]));
    const src = await openInput({ file });
    expect([src.format, src.delimiter, src.encoding, src.bom]).toEqual(['csv', '\t', 'utf-16le', true]);
    expect((await collect(src.records())).map((r) => ({ ...r.values }))).toEqual([{ 名称: '交换机', 端口: '48' }]);
    await src.close();
    const gb = await openInput({ file: await t.write('gb.csv', GB), encoding: 'gb18030' });
    expect([gb.encoding, gb.bom]).toEqual(['gb18030', false]);
    const utf8 = await openInput({ file: await t.write('bom.csv', '\uFEFFa,b\n1,2\n') });
    expect([utf8.encoding, utf8.bom, utf8.columns]).toEqual(['utf-8', true, ['a', 'b']]);
  });

  it('reads JSON and NDJSON in other encodings too', async () => {
    const json = await t.write('gb.json', Buffer.concat([Buffer.from('[{"name":"'), Buffer.from('bdbbbbbbbbfa', 'hex'), Buffer.from('"}]')]));
    expect((await readAll({ file: json, encoding: 'gb18030' }))[0]!.values.name).toBe('交换机');
    const nd = await t.write('gb.ndjson', Buffer.concat([Buffer.from('{"name":"'), Buffer.from('b1b1bea9', 'hex'), Buffer.from('"}\n')]));
    expect((await readAll({ file: nd, encoding: 'gb18030' }))[0]!.values.name).toBe('北京');
    expect((await usageError(openInput({ file: nd }))).message).toContain('not valid UTF-8');
  });

  it('refuses to decode a file with a UTF-8 BOM as something else', async () => {
    const file = await t.write('bom-utf8.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name\n交换机\n')]));
    const err = await usageError(openInput({ file, encoding: 'gb18030' }));
    expect(err.message).toContain('UTF-8 byte order mark');
    expect((await readAll({ file, encoding: 'utf8' }))[0]!.values.name).toBe('交换机');
  });

  it('rejects an unknown encoding label with examples', async () => {
    const file = await t.write('plain.csv', 'a\n1\n');
    const err = await usageError(openInput({ file, encoding: 'klingon' }));
    expect(err.message).toBe('unknown encoding "klingon"');
    expect(err.hint).toContain('gb18030');
  });

  it('reports bytes invalid in an explicit encoding instead of replacing them', async () => {
    // 0xFF is not a valid lead byte in GB18030
    const file = await t.write('bad-gb.csv', Buffer.concat([Buffer.from('a\nx\n'), Buffer.from([0xff, 0x0a])]));
    const src = await openInput({ file, encoding: 'gb18030' }).catch((e) => e);
    const err = src instanceof Error ? src : await usageError(collect(src.records()));
    expect(err.message).toContain('is not valid gb18030');
  });
});
