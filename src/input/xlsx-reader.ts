/**
 * The workbook library's streaming reader, with two of its bugs worked around for the pinned 5.1.x, and its
 * shared-strings table kept in a temp file instead of memory (3).
 *
 * 1. It decodes each chunk of a zip entry on its own (`TextDecoder.decode(chunk)`
 * without `stream: true`), so a character whose UTF-8 bytes straddle two chunks becomes "��": in a Chinese sheet,
 * about one cell in two thousand. It is the bug exceljs users reported (exceljs/exceljs issues #2063, #2084,
 * #2316; still open in exceljs 4.4.0); @cj-tech-master/excelts fixed it in 6.x, which requires Node 22 (npm
 * refuses it here). So for the pinned 5.1.x this module hands the library TEXT instead of bytes, decoded across
 * chunks: its parser passes strings through untouched.
 *
 *    The worksheet parser gets a decoding iterator; the shared strings, workbook (sheet names) and styles (number
 *    formats) entries are set to emit UTF-8 text. test/unit/input-xlsx.test.ts ("text across the reader's chunks")
 *    fails without it.
 * 2. A sheet stored before the shared strings (as Excel saves) is copied to a temp folder (excelts-*), removed only
 *    when the reader reaches it; a read stopped earlier (a sheet picked by name, Ctrl-C, an error) left the copies —
 *    a whole sheet each. And its removal is an async fs.rm, which the CLI's process.exit cut short even after a
 *    complete read. The reader here removes every copy when its iteration ends, however it ends (on the next turn
 *    of the event loop: the library may still be opening the one it was at), and whatever is left when the
 *    process exits ("leaves no temp copies" in the same test file; "no temp copies after a run" in
 *    test/e2e/xlsx.test.ts).
 * 3. The shared-strings table (every distinct text of an Excel-saved workbook) is spooled to a temp file
 *    (xlsx-strings.ts): the library's own parser hands each text over ('emit' for the time of that entry) and the
 *    worksheets index the file. The file goes with the temp copies above.
 *
 * All replace methods of one reader instance (not the class, not the module), after checking they exist.
 */
import { rm, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { WorkbookReader } from '@cj-tech-master/excelts';
import { SpooledStrings, sharedText } from './xlsx-strings.js';

interface Stored {
  path: string; // <temp folder>/sheetN.xml
  writePromise: Promise<unknown>;
}

interface ReaderInternals {
  options: Record<string, unknown>;
  sharedStrings: unknown;
  parse(...args: unknown[]): AsyncIterable<unknown>;
  _storeWaitingWorksheet(sheetNo: string, entry: Readable): Promise<Stored>;
  _parseWorksheet(iterator: AsyncIterable<unknown>, sheetNo: string): unknown;
  _parseSharedStrings(entry: Readable): AsyncIterable<{ index: number; text: unknown }>;
  _parseWorkbook(entry: Readable): unknown;
  _parseStyles(entry: Readable): unknown;
}

/**
 * Bytes of sheet XML decoded and handed to the XML parser at a time. The parser turns a piece into one array of
 * events (tags with their attribute objects, texts) that stays alive until the worksheet reader has made rows of all
 * of it: the file's 64 KB chunks made ~10,000 of them at once, which outlived young-generation collections and were
 * copied into the old generation. 8 KB pieces keep that set small (docs/performance.md, case 5).
 */
export const TEXT_PIECE = 8 * 1024;

/** The chunks of a byte stream as strings of at most TEXT_PIECE bytes, characters never cut (a string chunk passes as it is). */
export async function* utf8Text(chunks: AsyncIterable<unknown>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const c of chunks) {
    if (typeof c === 'string') {
      if (c.length > 0) yield c;
      continue;
    }
    const bytes = c as Uint8Array;
    for (let i = 0; i < bytes.length; i += TEXT_PIECE) {
      const s = decoder.decode(bytes.subarray(i, i + TEXT_PIECE), { stream: true });
      if (s.length > 0) yield s;
    }
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}

/** Temp folders to remove; whatever is left when the process exits is removed then. */
const pending = new Set<string>();
let exitHook = false;

function removeSoon(dir: string): void {
  pending.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of pending) rmSync(d, { recursive: true, force: true });
    });
  }
  setImmediate(() => rm(dir, { recursive: true, force: true }, () => pending.delete(dir)));
}

const PATCHED = ['parse', '_storeWaitingWorksheet', '_parseWorksheet', '_parseSharedStrings', '_parseWorkbook', '_parseStyles'] as const;

/** A WorkbookReader whose XML parsing sees whole characters and which leaves no temp copies behind. */
export function utf8SafeReader(path: string, options: ConstructorParameters<typeof WorkbookReader>[1]): WorkbookReader {
  const reader = new WorkbookReader(path, options);
  const r = reader as unknown as ReaderInternals;
  for (const method of PATCHED) {
    if (typeof r[method] !== 'function') throw new Error(`workbook library: ${method} is gone; see src/input/xlsx-reader.ts`);
  }
  if (r.options?.sharedStrings !== 'cache') throw new Error('workbook library: options.sharedStrings is not "cache"; see src/input/xlsx-reader.ts');
  const parseWorksheet = r._parseWorksheet.bind(reader);
  r._parseWorksheet = (iterator, sheetNo) => parseWorksheet(utf8Text(iterator), sheetNo);
  for (const method of ['_parseWorkbook', '_parseStyles'] as const) {
    const parse = r[method].bind(reader);
    r[method] = (entry) => parse(entry.setEncoding('utf8'));
  }
  const spools: SpooledStrings[] = [];
  const parseStrings = r._parseSharedStrings.bind(reader);
  r._parseSharedStrings = async function* (entry) {
    const table = new SpooledStrings();
    spools.push(table);
    // The library's own parser, asked to hand each text over instead of keeping it ('emit'), for the time of this
    // entry; the texts go to the temp file and the worksheets index the file.
    const options = r.options;
    r.options = { ...options, sharedStrings: 'emit' };
    try {
      for await (const item of parseStrings(entry.setEncoding('utf8'))) table.add(sharedText(item.text));
    } finally {
      r.options = options;
    }
    table.finish();
    r.sharedStrings = table.view();
  };

  const stored: Stored[] = [];
  const store = r._storeWaitingWorksheet.bind(reader);
  r._storeWaitingWorksheet = async (sheetNo, entry) => {
    const s = await store(sheetNo, entry);
    s.writePromise.catch(() => {}); // a copy cut short by an early stop is removed below; its write error is no news
    stored.push(s);
    return s;
  };
  const parse = r.parse.bind(reader);
  r.parse = async function* (...args: unknown[]) {
    try {
      yield* parse(...args);
    } finally {
      for (const s of stored) removeSoon(dirname(s.path));
      for (const t of spools) {
        t.close();
        removeSoon(t.dir);
      }
    }
  };
  return reader;
}
