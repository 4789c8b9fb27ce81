/**
 * A zip archive read through its central directory (every .xlsx is one), each entry a pulled sequence of Buffers.
 *
 * The central directory at the end of the file lists every entry with its sizes and where its local header is, so
 * the entries can be read in any order (a workbook's shared strings before the sheet Excel stored ahead of them)
 * and a data descriptor after an entry (sizes written after the data) needs no reading: the directory has them.
 * Entries are stored (method 0) or deflated (method 8), inflated by node:zlib a file chunk at a time, as the
 * consumer asks: a sheet is never whole in memory. Zip64 (archives or entries past 4 GB or 65,535 entries) is read.
 * Refused, with what to do: encrypted entries, other compression methods, a file that is not a zip at all or is cut
 * short, output past an entry's declared size (a damaged entry or a zip bomb), and an entry whose bytes do not match
 * its CRC-32 (checked when it has been read to its end).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { UsageError } from '../core/errors.js';
import { OLE_MAGIC, isOleDocument } from './file-kind.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number; // uncompressed
  localHeader: number; // offset of the local file header
  crc: number; // CRC-32 of the uncompressed bytes
}

/** Bytes read from zip files by this process: tests show entries are read as they are consumed, not ahead. */
export const zipReads = { bytes: 0 };

/** File bytes read at a time (and the inflater's output chunk size). */
const CHUNK = 64 * 1024;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
/** The end record is followed by a comment of at most 65,535 bytes. */
const EOCD_SEARCH = EOCD_SIZE + 0xffff;

/** Output allowed past an entry's declared size before it is refused: none is normal, so this is wide. */
function outputCap(declared: number): number {
  return declared * 2 + 16 * 1024 * 1024;
}

/** Why a file cannot be read as a workbook, in words, with what to do. */
export function notAWorkbook(display: string, why: string): UsageError {
  return new UsageError(`${display} is not a readable .xlsx workbook (${why})`, 'save it from Excel as "Excel Workbook (*.xlsx)" (.xls, .et and .numbers files are not read)');
}

export class ZipFile {
  private constructor(
    private readonly fh: FileHandle,
    private readonly display: string,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(path: string, display: string): Promise<ZipFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      await refuseOle(fh, display);
      const entries = await centralDirectory(fh, size, display);
      return new ZipFile(fh, display, entries);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  entry(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** The entry's uncompressed bytes, a chunk at a time as they are asked for. */
  async *read(entry: ZipEntry): AsyncGenerator<Buffer> {
    if (entry.flags & 1) {
      throw new UsageError(`${this.display} is encrypted (its part ${entry.name} needs a password)`, 'remove the password in Excel (File > Info > Protect Workbook) and save again');
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw notAWorkbook(this.display, `its part ${entry.name} is compressed with method ${entry.method}, which is not read; only stored and deflated parts are`);
    }
    const start = await this.dataStart(entry);
    const raw = this.bytes(start, entry.compressedSize);
    const out = entry.method === 0 ? raw : inflated(raw);
    const cap = outputCap(entry.size);
    let total = 0;
    let crc = 0;
    try {
      for await (const chunk of out) {
        total += chunk.length;
        if (total > cap) throw notAWorkbook(this.display, `its part ${entry.name} inflates past its declared ${entry.size} bytes: damaged, or a zip bomb`);
        crc = crc32(chunk, crc);
        yield chunk;
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw notAWorkbook(this.display, `its part ${entry.name} is damaged: ${(e as Error).message}`);
    }
    if (total < entry.size) throw notAWorkbook(this.display, `its part ${entry.name} ends after ${total} of its ${entry.size} bytes: the file is damaged or cut short`);
    // Checked when the part has been read whole: a run reads the sheet whole once (the check) before it sends a row.
    if (crc >>> 0 !== entry.crc) throw notAWorkbook(this.display, `its part ${entry.name} is damaged: its checksum (CRC-32) does not match its bytes`);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  /** Where an entry's data starts: after its local header, whose name and extra field have lengths of their own. */
  private async dataStart(entry: ZipEntry): Promise<number> {
    const h = await readAt(this.fh, entry.localHeader, 30);
    if (h.length < 30 || h.readUInt32LE(0) !== LOCAL_SIG) throw notAWorkbook(this.display, `the local header of ${entry.name} is missing: the file is damaged`);
    return entry.localHeader + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  }

  /** `length` bytes from `start`, a chunk at a time (fresh Buffers: the inflater may hold on to them). */
  private async *bytes(start: number, length: number): AsyncGenerator<Buffer> {
    for (let at = start, end = start + length; at < end; ) {
      const b = await readAt(this.fh, at, Math.min(CHUNK, end - at));
      if (b.length === 0) throw notAWorkbook(this.display, 'the file ends inside a part: it is cut short');
      at += b.length;
      yield b;
    }
  }
}

/** Deflated bytes → inflated chunks, pulled: the source is read only as the inflater's output is taken. */
function inflated(raw: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const inflate = createInflateRaw({ chunkSize: CHUNK });
  pipeline(Readable.from(raw, { objectMode: false, highWaterMark: 1 }), inflate, () => {});
  return inflate;
}

async function readAt(fh: FileHandle, at: number, length: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(b, got, length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  zipReads.bytes += got;
  return got === length ? b : b.subarray(0, got);
}

/** An OLE compound document (a password-protected workbook, or an old .xls) is not a zip: say which it is. */
async function refuseOle(fh: FileHandle, display: string): Promise<void> {
  if (!isOleDocument(await readAt(fh, 0, OLE_MAGIC.length))) return;
  if (await isEncryptedPackage(fh)) {
    throw new UsageError(`${display} is a password-protected (encrypted) workbook, which cannot be read`, 'remove the password in Excel (File > Info > Protect Workbook) and save again');
  }
  throw new UsageError(`${display} is an old-style Excel file (.xls) or another OLE document, not an .xlsx workbook`, 'open it in Excel and save it as "Excel Workbook (*.xlsx)"');
}

/**
 * Whether an OLE compound document holds an "EncryptedPackage" stream (how Office stores a password-protected
 * .xlsx; an .xls holds "Workbook"). Its directory is found through the file's allocation table (MS-CFB 2.2, 2.6).
 */
async function isEncryptedPackage(fh: FileHandle): Promise<boolean> {
  const header = await readAt(fh, 0, 512);
  if (header.length < 512) return false;
  const sectorSize = 1 << header.readUInt16LE(30);
  const sectorAt = (sid: number) => (sid + 1) * sectorSize;
  const fatSectors: number[] = [];
  for (let i = 0; i < 109; i++) fatSectors.push(header.readInt32LE(76 + i * 4));
  const next = async (sid: number): Promise<number> => {
    const perSector = sectorSize / 4;
    const fat = fatSectors[Math.floor(sid / perSector)];
    if (fat === undefined || fat < 0) return -2;
    return (await readAt(fh, sectorAt(fat) + (sid % perSector) * 4, 4)).readInt32LE(0);
  };
  const wanted = Buffer.from('EncryptedPackage', 'utf16le');
  // The directory's chain, 128-byte entries each starting with the UTF-16 name; a few sectors are plenty.
  for (let sid = header.readInt32LE(48), n = 0; sid >= 0 && n < 64; sid = await next(sid), n++) {
    const sector = await readAt(fh, sectorAt(sid), sectorSize);
    for (let e = 0; e + 128 <= sector.length; e += 128) {
      if (sector.subarray(e, e + wanted.length).equals(wanted)) return true;
    }
  }
  return false;
}

async function centralDirectory(fh: FileHandle, fileSize: number, display: string): Promise<Map<string, ZipEntry>> {
  const tailStart = Math.max(0, fileSize - EOCD_SEARCH);
  const tail = await readAt(fh, tailStart, fileSize - tailStart);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notAWorkbook(display, 'it is not a zip archive, or it is cut short: no zip directory at its end');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // Zip64: a locator just before the end record points at the zip64 end record, which has the 64-bit figures.
    const locatorAt = tailStart + eocd - 20;
    const locator = locatorAt >= 0 ? await readAt(fh, locatorAt, 20) : Buffer.alloc(0);
    if (locator.length === 20 && locator.readUInt32LE(0) === ZIP64_LOCATOR_SIG) {
      const recordAt = Number(locator.readBigUInt64LE(8));
      const record = await readAt(fh, recordAt, 56);
      if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw notAWorkbook(display, 'its zip64 directory record is missing: the file is damaged');
      count = Number(record.readBigUInt64LE(32));
      cdSize = Number(record.readBigUInt64LE(40));
      cdOffset = Number(record.readBigUInt64LE(48));
    }
  }
  if (cdOffset + cdSize > fileSize) throw notAWorkbook(display, 'its zip directory points past the end of the file: it is cut short');
  const cd = await readAt(fh, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIG) throw notAWorkbook(display, 'its zip directory is damaged');
    const flags = cd.readUInt16LE(at + 8);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const nameBytes = cd.subarray(at + 46, at + 46 + nameLength);
    // Bit 11: the name is UTF-8; else code page 437, which for the ASCII names of a workbook's parts is the same.
    const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
    const entry: ZipEntry = {
      name,
      method: cd.readUInt16LE(at + 10),
      flags,
      compressedSize: cd.readUInt32LE(at + 20),
      size: cd.readUInt32LE(at + 24),
      localHeader: cd.readUInt32LE(at + 42),
      crc: cd.readUInt32LE(at + 16),
    };
    zip64Fields(entry, cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    entries.set(name.replace(/\\/g, '/'), entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The zip64 extra field (id 1) holds, in this order, the 64-bit figures whose 32-bit fields are all ones. */
function zip64Fields(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 1) {
      let p = at + 4;
      const take = () => {
        const v = p + 8 <= at + 4 + size ? Number(extra.readBigUInt64LE(p)) : undefined;
        p += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = take() ?? entry.size;
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = take() ?? entry.compressedSize;
      if (entry.localHeader === 0xffffffff) entry.localHeader = take() ?? entry.localHeader;
      return;
    }
    at += 4 + size;
  }
}
