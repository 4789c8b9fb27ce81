/**
 * CSV reader on csv-parse (stream API). Rows are parsed as arrays and turned into null-prototype objects
 * here, which is faster than csv-parse's `columns` option and lets ragged rows become per-row errors.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, CsvError } from 'csv-parse';
import { UsageError } from '../core/errors.js';
import { TYPE_HINTS, type InputRecord, type TypeHint } from '../core/types.js';
import type { TextChunk } from './decode.js';

export interface CsvHeader {
  columns: string[];
  hints: Record<string, TypeHint>;
}

/** Opens a csv-parse stream fed by `chunks`; errors of the source surface from the iterator. */
function parser(chunks: AsyncIterable<TextChunk>, delimiter: string): AsyncIterable<string[]> {
  const p = parse({
    delimiter,
    relax_column_count: true,
    // Quotes stay strict (RFC 4180): a stray quote is an error, never a silently changed value.
    // Blank lines are skipped here (not by csv-parse) so that line numbers can be counted without `info`.
    skip_empty_lines: false,
    // Accept \r\n, \n and \r even when a file mixes them.
    record_delimiter: ['\r\n', '\n', '\r'],
  });
  // Errors reach the iterator: pipeline destroys the parser with the source's error.
  pipeline(Readable.from(chunks, { objectMode: false }), p).catch(() => {});
  return p;
}

/** A record that is a blank (or whitespace-only) line. */
function isBlank(cells: string[]): boolean {
  return cells.length === 1 && (cells[0] === '' || cells[0]!.trim() === '');
}

function newlinesIn(cells: string[]): number {
  let n = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    for (let j = c.indexOf('\n'); j !== -1; j = c.indexOf('\n', j + 1)) n++;
  }
  return n;
}

function fatal(err: unknown, display: string, line: number): unknown {
  if (!(err instanceof CsvError)) return err;
  const at = (err as CsvError & { lines?: number }).lines;
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new UsageError(
        `${display} line ${line}: a quoted field that starts on or after this line is never closed`,
        'a field that starts with " must end with "; a quote inside a quoted field is written "" (check the row near that line)',
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'INVALID_OPENING_QUOTE':
      return new UsageError(
        `${display} line ${at ?? line}: misplaced quote (${err.message})`,
        'a cell that contains quotes must be quoted as a whole, with inner quotes doubled: "{""a"": 1}"',
      );
    default:
      return new UsageError(`${display} line ${at ?? line}: ${err.message}`, 'check quoting and the --delimiter');
  }
}

/** Reads the header row (the first non-blank record). */
export async function readCsvHeader(chunks: AsyncIterable<TextChunk>, display: string, delimiter: string): Promise<CsvHeader> {
  let line = 1;
  try {
    for await (const cells of parser(chunks, delimiter)) {
      if (isBlank(cells)) {
        line++;
        continue;
      }
      return parseHeader(cells, display, line);
    }
  } catch (err) {
    throw fatal(err, display, line);
  }
  throw new UsageError(`${display} is empty: a CSV file needs a header row with the column names`);
}

export function parseHeader(cells: string[], display: string, line: number): CsvHeader {
  const columns: string[] = [];
  const hints: Record<string, TypeHint> = Object.create(null);
  const unnamed: number[] = [];
  const seen = new Map<string, number>();
  const dups: string[] = [];
  for (let i = 0; i < cells.length; i++) {
    let name = cells[i]!.trim();
    const colon = name.lastIndexOf(':');
    if (colon !== -1) {
      const hint = name.slice(colon + 1).trim().toLowerCase();
      name = name.slice(0, colon).trim();
      if (!(TYPE_HINTS as readonly string[]).includes(hint)) {
        throw new UsageError(
          `${display} line ${line}: unknown type hint "${cells[i]!.trim()}" in column ${i + 1}`,
          `valid hints: ${TYPE_HINTS.join(', ')} (for example port_count:int)`,
        );
      }
      hints[name] = hint as TypeHint;
    }
    if (name === '') unnamed.push(i + 1);
    else if (seen.has(name)) dups.push(`${name} (columns ${seen.get(name)} and ${i + 1})`);
    else seen.set(name, i + 1);
    columns.push(name);
  }
  if (unnamed.length > 0) {
    throw new UsageError(
      `${display} line ${line}: column${unnamed.length > 1 ? 's' : ''} ${unnamed.join(', ')} of the header ${unnamed.length > 1 ? 'have' : 'has'} no name`,
      'every column needs a name in the header row (remove trailing delimiters or name the column)',
    );
  }
  if (dups.length > 0) {
    throw new UsageError(`${display} line ${line}: duplicate column names: ${dups.join(', ')}`, 'each column name may appear once');
  }
  return { columns, hints };
}

/** Streams the data records (the header row is skipped; it was checked by readCsvHeader). */
export async function* csvRecords(
  chunks: AsyncIterable<TextChunk>,
  display: string,
  delimiter: string,
  columns: string[],
): AsyncGenerator<InputRecord> {
  const width = columns.length;
  let next = 1; // line where the next record starts
  let row = 0;
  let header = true;
  try {
    for await (const cells of parser(chunks, delimiter)) {
      const line = next;
      if (isBlank(cells)) {
        next++;
        continue;
      }
      next = line + 1 + newlinesIn(cells);
      if (header) {
        header = false;
        continue;
      }
      row++;
      const values: Record<string, unknown> = Object.create(null);
      if (cells.length !== width) {
        yield {
          row,
          line,
          values,
          error: `line ${line}: ${cells.length} cell${cells.length === 1 ? '' : 's'}, the header has ${width} (check quoting and delimiters)`,
        };
        continue;
      }
      for (let i = 0; i < width; i++) values[columns[i]!] = cells[i];
      yield { row, line, values };
    }
  } catch (err) {
    throw fatal(err, display, next);
  }
}
