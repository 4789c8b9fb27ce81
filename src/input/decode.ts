/**
 * Bytes -> text chunks, streaming. UTF-8 (the default) is validated as it streams and cut at character
 * boundaries; any other encoding is decoded with TextDecoder. Both hand on strings.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { UsageError } from '../core/errors.js';

// UTF-8 is read 256 KB at a time (fewer reads, less waiting on the thread pool) and handed on in strings of
// at most 32 KB: such a string stays under V8's large-object size (128 KB, even as UTF-16), and large strings
// are slow to allocate — 256 KB strings made decoding alone ~20x slower. Other encodings are decoded into
// strings straight from 32 KB reads. Both read into one reused buffer (see readInto).
const READ = 1 << 18;
const CHUNK = 1 << 15;
const ENCODING_EXAMPLES = 'utf-8, gb18030, gbk, big5, shift_jis, utf-16le, utf-16be, latin1';

/** A chunk of text: a Buffer of complete, valid UTF-8 characters, or a string. */
export type TextChunk = Buffer | string;

/** Resolves an encoding label to TextDecoder's canonical name, or throws a UsageError. */
export function resolveEncoding(label: string): string {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    throw new UsageError(`unknown encoding "${label}"`, `use a label such as ${ENCODING_EXAMPLES}`);
  }
}

/** The encoding a UTF-16 byte order mark announces, if the file starts with one. */
export function bomEncoding(head: Buffer): string | null {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

export function chunkToString(c: TextChunk): string {
  return typeof c === 'string' ? c : c.toString('utf8');
}

/**
 * Streams the file as text. `display` names the file in messages; `explicit` says whether the user chose
 * the encoding (the advice differs). A BOM is stripped.
 */
export async function* textChunks(path: string, display: string, encoding: string, explicit: boolean): AsyncGenerator<TextChunk> {
  if (encoding === 'utf-8') {
    yield* utf8Chunks(path, display, explicit);
    return;
  }
  // fatal: bytes that are not valid in the chosen encoding are an error, not silent U+FFFD.
  const decoder = new TextDecoder(encoding, { fatal: true });
  let lines = 0;
  for await (const bytes of readInto(path, CHUNK)) {
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      throw new UsageError(
        `${display} is not valid ${encoding} (near line ${lines + 1})`,
        `check the file's encoding and pass it with --encoding (for example gb18030 or utf-8)`,
      );
    }
    lines += countNewlines(text);
    if (text.length > 0) yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new UsageError(`${display} is not valid ${encoding}: it ends in the middle of a character`);
  }
  if (rest.length > 0) yield rest;
}

/**
 * The file's bytes, read into ONE buffer that is reused: each chunk is only valid until the next is asked for
 * (both callers turn it into strings at once). A new Buffer per read left tens of MB of spent read buffers
 * waiting for a full garbage collection on a million-row file.
 */
async function* readInto(path: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, size, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function* utf8Chunks(path: string, display: string, explicit: boolean): AsyncGenerator<string> {
  let carry: Buffer | null = null; // an incomplete character cut off by the chunk boundary
  let first = true;
  let offset = 0; // file offset of the start of `buf` below
  for await (const bytes of readInto(path, READ)) {
    let buf: Buffer = carry ? Buffer.concat([carry, bytes]) : bytes;
    if (first) {
      first = false;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        buf = buf.subarray(3);
        offset = 3;
      }
    }
    const end = completeEnd(buf);
    const part = buf.subarray(0, end);
    if (!isUtf8(part)) throw await notUtf8(path, display, offset + firstInvalidUtf8(part), explicit);
    carry = end < buf.length ? Buffer.from(buf.subarray(end)) : null;
    offset += end;
    for (let from = 0; from < part.length; ) {
      let to = Math.min(from + CHUNK, part.length);
      // Not inside a character (part is valid UTF-8: at most 3 steps back).
      while (to < part.length && to > from + 4 && (part[to]! & 0xc0) === 0x80) to--;
      yield part.toString('utf8', from, to);
      from = to;
    }
  }
  if (carry) throw await notUtf8(path, display, offset, explicit);
}

/** Length of the prefix of `buf` that ends on a character boundary (a trailing partial sequence is cut). */
function completeEnd(buf: Buffer): number {
  const n = buf.length;
  // Look back at most 3 bytes for the lead byte of the last sequence.
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = buf[i]!;
    if (b < 0x80) return n; // ASCII: everything before is complete
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return n - i >= need ? n : i;
    }
  }
  return n; // only continuation bytes: invalid anyway, let the validator say so
}

/** Offset of the first byte that makes `buf` invalid UTF-8 (WHATWG decoder rules), or buf.length. */
export function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return n;
}

/** Builds the "not UTF-8" error, naming the line of the first bad byte (found by re-reading up to it). */
async function notUtf8(path: string, display: string, badOffset: number, explicit: boolean): Promise<UsageError> {
  let line = 1;
  let pos = 0;
  for await (const bytes of createReadStream(path, { highWaterMark: CHUNK, end: Math.max(0, badOffset - 1) }) as AsyncIterable<Buffer>) {
    for (let i = bytes.indexOf(10); i !== -1 && pos + i < badOffset; i = bytes.indexOf(10, i + 1)) line++;
    pos += bytes.length;
  }
  return new UsageError(
    `${display} is not valid UTF-8 (first bad byte on line ${line})`,
    explicit
      ? 'check the file\'s encoding; files saved by Excel in China are usually GB18030: try --encoding gb18030'
      : 'files saved by Excel in China are usually GB18030/GBK: try --encoding gb18030',
  );
}

export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
