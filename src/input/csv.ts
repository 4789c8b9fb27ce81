/**
 * CSV reader. Rows are scanned as arrays of cells (csv-scan.ts) and turned into null-prototype objects here,
 * which lets ragged rows become per-row errors.
 */
import { UsageError } from '../core/errors.js';
import { TYPE_HINTS, type InputRecord, type TypeHint } from '../core/types.js';
import { CsvScanner, CsvSyntaxError, type CsvCells } from './csv-scan.js';
import { oneColumnHeader } from './csv-sniff.js';
import { chunkToString, type TextChunk } from './decode.js';
import { nullObject } from '../core/objects.js';

export interface CsvHeader {
  columns: string[];
  hints: Record<string, TypeHint>;
}

/**
 * The records of `chunks`, a chunk's worth at a time (one await per chunk, not per row). Quotes are strict
 * (RFC 4180): a stray quote is an error, never a silently changed value. Blank lines come out as `['']` and
 * are skipped by the callers, so that line numbers can be counted.
 */
async function* parser(chunks: AsyncIterable<TextChunk>, delimiter: string): AsyncGenerator<CsvCells[]> {
  const scanner = new CsvScanner(delimiter, delimiter === ',');
  let out: CsvCells[] = [];
  let error: unknown;
  // A syntax error comes after the records before it: hand those on first, so the caller's line count is right.
  const flush = function* () {
    if (out.length > 0) yield out;
    out = [];
    if (error !== undefined) throw error;
  };
  for await (const chunk of chunks) {
    try {
      scanner.push(chunkToString(chunk), out);
    } catch (e) {
      error = e;
    }
    yield* flush();
  }
  try {
    scanner.end(out);
  } catch (e) {
    error = e;
  }
  yield* flush();
}

/** A record that is a blank (or whitespace-only) line. */
function isBlank(cells: string[]): boolean {
  return cells.length === 1 && (cells[0] === '' || cells[0]!.trim() === '');
}

/** A row of delimiters only (`,,,`: Excel keeps rows that once held something): every cell empty or blank. */
function isEmptyRow(cells: string[]): boolean {
  for (let i = 0; i < cells.length; i++) if (cells[i] !== '' && cells[i]!.trim() !== '') return false;
  return true;
}

/**
 * A cell starting with a formula's first character (= + - @ tab): the report neutralises it (report/csv.ts
 * csvCell), so a record's own text is the report's input cells only without one. (A record the scanner gives its
 * text, with `,` as the delimiter, has no quoted cell: no cell holds a comma, quote or line break to quote.)
 */
const FORMULA_CELL = /(?:^|,)[=+\-@\t]/;

/** Counts what a read skipped; the reader sets it when a read of the whole file ends. */
export interface CsvTally {
  /** Rows whose cells were all empty: skipped, not numbered (like blank lines). */
  emptyRows: number;
}

function fatal(err: unknown, display: string, line: number): unknown {
  if (!(err instanceof CsvSyntaxError)) return err;
  if (err.code === 'QUOTE_NOT_CLOSED') {
    return new UsageError(
      `${display} line ${line}: a quoted field that starts on or after this line is never closed`,
      'a field that starts with " must end with "; a quote inside a quoted field is written "" (check the row near that line)',
    );
  }
  return new UsageError(
    `${display} line ${line + err.lineOffset}: misplaced quote (${err.message})`,
    'a cell that contains quotes must be quoted as a whole, with inner quotes doubled: "{""a"": 1}"',
  );
}

/** Reads the header row (the first non-blank record). */
export async function readCsvHeader(chunks: AsyncIterable<TextChunk>, display: string, delimiter: string): Promise<CsvHeader> {
  let line = 1;
  try {
    for await (const batch of parser(chunks, delimiter)) {
      for (const cells of batch) {
        if (isBlank(cells)) {
          line++;
          continue;
        }
        const wrongDelimiter = oneColumnHeader(cells, delimiter, display, line);
        if (wrongDelimiter) throw wrongDelimiter;
        return parseHeader(cells, display, line);
      }
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

/**
 * Streams the data records (the header row is skipped; it was checked by readCsvHeader), a chunk's worth at
 * a time: one await per chunk instead of one per row. Rows whose cells are all empty are skipped and counted
 * into `tally` when the whole file was read.
 */
export async function* csvBatches(
  chunks: AsyncIterable<TextChunk>,
  display: string,
  delimiter: string,
  columns: string[],
  tally?: CsvTally,
): AsyncGenerator<InputRecord[]> {
  const width = columns.length;
  let next = 1; // line where the next record starts
  let row = 0;
  let empty = 0;
  let header = true;
  try {
    for await (const batch of parser(chunks, delimiter)) {
      const out: InputRecord[] = [];
      for (const cells of batch) {
        const line = next;
        if (isBlank(cells)) {
          next++;
          continue;
        }
        next = line + 1 + (cells.newlines ?? 0);
        if (header) {
          header = false;
          continue;
        }
        // The first cell decides for almost every row: the loop runs only for rows that start empty or blank.
        if ((cells[0] === '' || cells[0]!.charCodeAt(0) <= 32) && isEmptyRow(cells)) {
          empty++;
          continue;
        }
        row++;
        const values = nullObject();
        if (cells.length !== width) {
          // Keep the cells (extra ones joined into the last column) so the report and the --failed file show the
          // row as it was, ready to fix, instead of an empty one. The row stays invalid: nothing of it is sent.
          for (let i = 0; i < Math.min(width, cells.length); i++) values[columns[i]!] = cells[i];
          if (cells.length > width) values[columns[width - 1]!] = cells.slice(width - 1).join(delimiter);
          out.push({
            row,
            line,
            values,
            error: `line ${line}: ${cells.length} cell${cells.length === 1 ? '' : 's'}, the header has ${width} (check quoting and delimiters)`,
          });
          continue;
        }
        for (let i = 0; i < width; i++) values[columns[i]!] = cells[i];
        const text = cells.text;
        out.push(text !== undefined && !FORMULA_CELL.test(text) ? { row, line, values, valuesCsv: text } : { row, line, values });
      }
      if (out.length > 0) yield out;
    }
  } catch (err) {
    throw fatal(err, display, next);
  }
  if (tally) tally.emptyRows = empty;
}
