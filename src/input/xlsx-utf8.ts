/**
 * The workbook library's streaming reader decodes each chunk of a zip entry on its own (`TextDecoder.decode(chunk)`
 * without `stream: true`), so a character whose UTF-8 bytes straddle two chunks becomes "��": in a Chinese sheet,
 * about one cell in two thousand. It is the bug exceljs users reported (exceljs/exceljs issues #2063, #2084,
 * #2316; still open in exceljs 4.4.0); @cj-tech-master/excelts fixed it in 6.x, which requires Node 22 (npm
 * refuses it here). So for the pinned 5.1.x this module hands the library TEXT instead of bytes, decoded across
 * chunks: its parser passes strings through untouched.
 *
 * It replaces four methods of one reader instance (not the class, not the module): the worksheet parser gets a
 * decoding iterator, the shared strings, workbook (sheet names) and styles (number formats) entries are set to
 * emit UTF-8 text. test/unit/input-xlsx.test.ts ("text across the reader's chunks") fails without it.
 */
import type { Readable } from 'node:stream';
import { WorkbookReader } from '@cj-tech-master/excelts';

interface ReaderInternals {
  _parseWorksheet(iterator: AsyncIterable<unknown>, sheetNo: string): unknown;
  _parseSharedStrings(entry: Readable): unknown;
  _parseWorkbook(entry: Readable): unknown;
  _parseStyles(entry: Readable): unknown;
}

/** The chunks of a byte stream as strings, characters never cut (a string chunk passes as it is). */
export async function* utf8Text(chunks: AsyncIterable<unknown>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const c of chunks) {
    const s = typeof c === 'string' ? c : decoder.decode(c as Uint8Array, { stream: true });
    if (s.length > 0) yield s;
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}

/** A WorkbookReader whose XML parsing sees whole characters. */
export function utf8SafeReader(path: string, options: ConstructorParameters<typeof WorkbookReader>[1]): WorkbookReader {
  const reader = new WorkbookReader(path, options);
  const r = reader as unknown as ReaderInternals;
  for (const method of ['_parseWorksheet', '_parseSharedStrings', '_parseWorkbook', '_parseStyles'] as const) {
    if (typeof r[method] !== 'function') throw new Error(`workbook library: ${method} is gone; see src/input/xlsx-utf8.ts`);
  }
  const parseWorksheet = r._parseWorksheet.bind(reader);
  r._parseWorksheet = (iterator, sheetNo) => parseWorksheet(utf8Text(iterator), sheetNo);
  for (const method of ['_parseSharedStrings', '_parseWorkbook', '_parseStyles'] as const) {
    const parse = r[method].bind(reader);
    r[method] = (entry) => parse(entry.setEncoding('utf8'));
  }
  return reader;
}
