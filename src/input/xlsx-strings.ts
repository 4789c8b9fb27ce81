/**
 * A workbook's shared-strings table, spooled to a temp file so that reading a sheet does not hold it in memory.
 *
 * Excel stores every distinct text of a workbook once, in xl/sharedStrings.xml, and a cell holds its index. Held as
 * one JavaScript array, an Excel-saved sheet of a million rows with 3 million distinct texts took ~150 MB of strings
 * (and V8 grew the heap to 1.5 GB around them; docs/performance.md, case 5).
 * Here the texts go to a file, UTF-8 one after another, and where each one starts to a second file (4 bytes a
 * string: 12 MB for 3 million texts, which memory held before); memory keeps a few recently read 16 KB blocks of
 * each file (1 MB of texts, 256 KB of starts). Excel numbers the texts in the order they first appear, so a sheet
 * read from the top reads the file mostly forward, and the texts repeated on every row (enum names) sit in the
 * first blocks, which stay cached.
 *
 * The table is read whole (`readSharedStrings`) before any sheet: the zip's directory lets it be read first even
 * when Excel stored it after the sheets. The temp folder is removed when the workbook is closed, or at the latest
 * when the process exits (`removeSoon`).
 */
import { closeSync, mkdtempSync, openSync, readSync, rm, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type XmlHandler, scanPart, unescapeExcel } from './xlsx-xml.js';

/**
 * Read in blocks of 16 KB, the last 64 read kept (1 MB; of the starts, the last 16: 256 KB); written a megabyte at a
 * time. Small blocks, many of them: texts a sheet repeats but first met at scattered places each keep a block cached.
 * Tests use small sizes.
 */
export interface SpoolSizes {
  block: number;
  cachedBlocks: number;
  writeBuffer: number;
}
const SIZES: SpoolSizes = { block: 16 * 1024, cachedBlocks: 64, writeBuffer: 1024 * 1024 };
/** Offsets are 32-bit: a table of 4 GB of text is not one this reader takes. */
const MAX_BYTES = 2 ** 32 - 1;

export class SpooledStrings {
  /** The temp folder holding the files; the caller removes it (with everything else the read leaves). */
  readonly dir: string;
  private count = 0;
  private readonly texts: BlockFile;
  private readonly starts: BlockFile;

  constructor(sizes: SpoolSizes = SIZES) {
    this.dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-strings-'));
    this.texts = new BlockFile(join(this.dir, 'shared-strings'), sizes);
    const startSizes = { ...sizes, cachedBlocks: Math.max(2, sizes.cachedBlocks >> 2), writeBuffer: Math.max(4, sizes.writeBuffer >> 4) };
    this.starts = new BlockFile(join(this.dir, 'starts'), startSizes);
  }

  get size(): number {
    return this.count;
  }

  add(text: string): void {
    const start = this.texts.length;
    const length = Buffer.byteLength(text);
    if (start + length > MAX_BYTES) throw new Error('the workbook\'s shared-strings table holds more than 4 GB of text');
    this.starts.appendUint32(start);
    this.texts.append(text, length);
    this.count++;
  }

  /** Every text is in: the rest goes to the files and the write buffers are let go. */
  finish(): void {
    this.texts.finish();
    this.starts.finish();
  }

  /** Text number `i` (0-based), or undefined when the table has no such entry. */
  get(i: number): string | undefined {
    if (!(i >= 0 && i < this.count)) return undefined;
    const start = this.starts.uint32(i * 4);
    const end = i + 1 < this.count ? this.starts.uint32((i + 1) * 4) : this.texts.length;
    return this.texts.text(start, end);
  }

  /** Closes the files (idempotent); the folder is the caller's to remove. */
  close(): void {
    this.texts.close();
    this.starts.close();
  }
}

/** A temp file written at its end through a buffer and read through a small cache of recently read blocks. */
class BlockFile {
  private fd: number | null;
  private pending: Buffer;
  private pendingLength = 0;
  private written = 0; // bytes in the file
  private readonly blocks = new Map<number, { data: Buffer; used: number }>();
  private tick = 0;
  private lastBlock = -1;
  private last: Buffer | null = null;

  constructor(path: string, private readonly sizes: SpoolSizes) {
    this.pending = Buffer.allocUnsafe(sizes.writeBuffer);
    this.fd = openSync(path, 'w+');
  }

  /** Bytes in the file and waiting to be written. */
  get length(): number {
    return this.written + this.pendingLength;
  }

  append(text: string, byteLength: number): void {
    if (byteLength > this.pending.length - this.pendingLength) this.flush();
    if (byteLength > this.pending.length) this.write(Buffer.from(text));
    else this.pendingLength += this.pending.write(text, this.pendingLength);
  }

  appendUint32(n: number): void {
    if (this.pending.length - this.pendingLength < 4) this.flush();
    this.pendingLength = this.pending.writeUInt32LE(n, this.pendingLength);
  }

  finish(): void {
    this.flush();
    this.pending = Buffer.alloc(0);
  }

  /** The UTF-8 text of bytes [start, end). */
  text(start: number, end: number): string {
    if (this.pendingLength > 0) this.flush();
    const size = this.sizes.block;
    const n = Math.floor(start / size);
    // A text across two blocks is read on its own.
    if (end > (n + 1) * size) return this.readRange(start, end).toString('utf8');
    return this.block(n).toString('utf8', start - n * size, end - n * size);
  }

  /** The 32-bit number at `at` (written by appendUint32, so never across two blocks: blocks are a multiple of 4). */
  uint32(at: number): number {
    if (this.pendingLength > 0) this.flush();
    const size = this.sizes.block;
    const n = Math.floor(at / size);
    return this.block(n).readUInt32LE(at - n * size);
  }

  close(): void {
    const fd = this.fd;
    this.fd = null;
    this.blocks.clear();
    this.last = null;
    if (fd !== null) closeSync(fd);
  }

  private flush(): void {
    if (this.pendingLength === 0) return;
    this.write(this.pending.subarray(0, this.pendingLength));
    this.pendingLength = 0;
  }

  private write(b: Buffer): void {
    const fd = this.openFd();
    for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off, this.written + off);
    this.written += b.length;
  }

  private block(n: number): Buffer {
    // A sheet's texts are mostly next to each other: most reads are of the block read last.
    if (n === this.lastBlock && this.last) return this.last;
    const b = this.cachedBlock(n);
    this.lastBlock = n;
    this.last = b;
    return b;
  }

  private cachedBlock(n: number): Buffer {
    // Least recently used is dropped: a hit only stamps its block (reordering a Map on every hit cost more than the
    // reads), a miss looks for the oldest stamp among the few blocks kept.
    const hit = this.blocks.get(n);
    if (hit) {
      hit.used = ++this.tick;
      return hit.data;
    }
    const size = this.sizes.block;
    // The block dropped lends its memory to the one read (texts are copied out as strings, nothing else holds it).
    let spare: Buffer | undefined;
    if (this.blocks.size >= this.sizes.cachedBlocks) {
      let oldest = -1;
      let stamp = Infinity;
      for (const [k, b] of this.blocks) {
        if (b.used < stamp) {
          stamp = b.used;
          oldest = k;
        }
      }
      spare = this.blocks.get(oldest)!.data;
      this.blocks.delete(oldest);
    }
    const data = this.readRange(n * size, Math.min((n + 1) * size, this.written), spare);
    this.blocks.set(n, { data, used: ++this.tick });
    return data;
  }

  private readRange(start: number, end: number, into?: Buffer): Buffer {
    const fd = this.openFd();
    const b = into && into.length >= end - start ? into.subarray(0, end - start) : Buffer.allocUnsafe(end - start);
    for (let off = 0; off < b.length; ) {
      const n = readSync(fd, b, off, b.length - off, start + off);
      if (n === 0) throw new Error('the shared-strings temp file ended early');
      off += n;
    }
    return b;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error('the shared-strings table was read after its workbook was closed');
    return this.fd;
  }
}

/**
 * Fills `table` from xl/sharedStrings.xml in pieces: each `<si>` is one text, a plain `<t>` or rich-text runs
 * `<r><t>` joined; phonetic runs (`<rPh>`, the reading of Japanese text) are not part of it.
 */
export async function readSharedStrings(pieces: AsyncIterable<Buffer>, table: SpooledStrings): Promise<void> {
  await scanPart(pieces, new StringItems(table));
  table.finish();
}

class StringItems implements XmlHandler {
  wantText = false;
  private item = '';
  private phonetic = false;

  constructor(private readonly table: SpooledStrings) {}

  open(name: string, _a: unknown, selfClosing: boolean): void {
    if (name === 'si') this.item = '';
    else if (name === 't') this.wantText = !selfClosing && !this.phonetic;
    else if (name === 'rPh') this.phonetic = !selfClosing;
  }

  close(name: string): void {
    if (name === 't') this.wantText = false;
    else if (name === 'rPh') this.phonetic = false;
    else if (name === 'si') this.table.add(unescapeExcel(this.item));
  }

  text(t: string): void {
    this.item += t;
  }
}

/** Temp folders to remove; whatever is left when the process exits is removed then (the CLI exits with process.exit). */
const pending = new Set<string>();
let exitHook = false;

/** Removes `dir` on the next turn of the event loop, or at exit if the process ends first. */
export function removeSoon(dir: string): void {
  pending.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of pending) rmSync(d, { recursive: true, force: true });
    });
  }
  setImmediate(() => rm(dir, { recursive: true, force: true }, () => pending.delete(dir)));
}
