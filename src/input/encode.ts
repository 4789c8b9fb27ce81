/**
 * Text → bytes in the encoding a file was read with, for the files the tool writes for the user to load again
 * (--failed): a GB18030 input gives a GB18030 file, which the same command (--encoding gb18030) reads and Excel in
 * China opens. Node encodes only UTF-8 and UTF-16LE itself; the legacy encodings (GB18030, GBK, Big5, Shift_JIS,
 * EUC-KR, the single-byte code pages) are encoded with a table built from the platform's own TextDecoder — every
 * byte sequence decoded once — so that whatever is written decodes back to the same text with the same
 * --encoding, by construction. decode.ts is the other direction.
 */

/** Text to the bytes of one encoding. */
export type Encode = (text: string) => Buffer;

const encoders = new Map<string, Encode | null>();

/**
 * The encoder for a TextDecoder encoding name ('utf-8', 'gb18030', 'utf-16le'...), built once per run; null for
 * ISO-2022-JP (an encoding with states, not a table) and for the "replacement" pseudo-encoding.
 */
export function encoderFor(encoding: string): Encode | null {
  let e = encoders.get(encoding);
  if (e === undefined) {
    e = build(encoding);
    encoders.set(encoding, e);
  }
  return e;
}

/** The byte order mark of an encoding that has one (written when the input had one). */
export function byteOrderMark(encoding: string): Buffer {
  if (encoding === 'utf-8') return Buffer.from([0xef, 0xbb, 0xbf]);
  if (encoding === 'utf-16le') return Buffer.from([0xff, 0xfe]);
  if (encoding === 'utf-16be') return Buffer.from([0xfe, 0xff]);
  return Buffer.alloc(0);
}

function build(encoding: string): Encode | null {
  if (encoding === 'utf-8') return (t) => Buffer.from(t, 'utf8');
  if (encoding === 'utf-16le') return (t) => Buffer.from(t, 'utf16le');
  if (encoding === 'utf-16be') return (t) => Buffer.from(t, 'utf16le').swap16();
  if (encoding === 'iso-2022-jp' || encoding === 'replacement') return null;
  return tableEncoder(encoding);
}

const QUESTION = 0x3f;

/**
 * A legacy encoding by table: every single byte and every two-byte sequence the decoder turns into one character,
 * and for GB18030 the four-byte sequences of the rest of Unicode (Node's GBK decoder reads no four-byte ones). A
 * character the encoding cannot hold is written as "?" (it can only come from the tool's own _error text: the
 * values were read in this encoding).
 */
function tableEncoder(encoding: string): Encode {
  const decoder = new TextDecoder(encoding);
  const table = new Map<number, number[]>();
  const learn = (bytes: number[]) => {
    const s = decoder.decode(Uint8Array.from(bytes));
    const cp = s.codePointAt(0);
    if (cp === undefined || cp === 0xfffd || s.length !== String.fromCodePoint(cp).length || table.has(cp)) return;
    table.set(cp, bytes);
  };
  for (let b = 0; b < 0x100; b++) learn([b]);
  for (let lead = 0x81; lead < 0x100; lead++) for (let trail = 0x40; trail < 0x100; trail++) learn([lead, trail]);
  const gb18030 = encoding === 'gb18030';
  if (gb18030) {
    // The BMP's four-byte sequences: 81 30 81 30 to 84 31 A4 39.
    for (let p = 0; p < 39420; p++) learn(fourBytes(p));
  }
  return (text) => {
    const out = Buffer.allocUnsafe(text.length * 4);
    let n = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      // No shortcut for ASCII: Node's Shift_JIS decoder reads 1A, 1C and 7F as one another.
      const bytes = table.get(cp) ?? (gb18030 && cp >= 0x10000 ? fourBytes(189000 + cp - 0x10000) : [QUESTION]);
      for (const b of bytes) out[n++] = b;
    }
    return out.subarray(0, n);
  };
}

/** GB18030's four-byte sequence for a pointer (WHATWG Encoding, "gb18030 ranges"). */
function fourBytes(pointer: number): number[] {
  const b1 = Math.floor(pointer / 12600);
  const b2 = Math.floor((pointer % 12600) / 1260);
  const b3 = Math.floor((pointer % 1260) / 10);
  return [b1 + 0x81, b2 + 0x30, b3 + 0x81, (pointer % 10) + 0x30];
}
