/**
 * Input readers: open a CSV / JSON / NDJSON file or an .xlsx workbook (or standard input) and stream its records.
 * Problems that stop everything throw UsageError; problems of one record come back as a record with `error`.
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from '../core/errors.js';
import { formatOfPath, INPUT_FORMATS as FORMATS, KNOWN_EXTENSIONS } from '../core/formats.js';
import type { InputFormat, InputRecord, TypeHint } from '../core/types.js';
import { isWorkbookLike, isZip } from './file-kind.js';
import { bomEncoding, chunkToString, resolveEncoding, textChunks, type TextChunk } from './decode.js';
import { csvBatches, readCsvHeader, type CsvTally } from './csv.js';
import { delimiterName, sniffDelimiter } from './csv-sniff.js';
import { jsonBatches, NOT_ARRAY } from './json.js';
import { findExport, findRows, type JsonExport } from './json-export.js';
import { ndjsonBatches } from './ndjson.js';
import { spoolStdin } from './spool.js';

export interface OpenInputOptions {
  file: string; // path, or '-' for standard input
  format?: InputFormat; // overrides the extension
  encoding?: string; // default: UTF-16 when the file starts with its byte order mark, else utf-8; any label TextDecoder knows (gb18030, gbk, utf-16le...)
  delimiter?: string; // CSV only, default: detected from the header; accept '\t' and the word 'tab'
  stdin?: NodeJS.ReadableStream; // default process.stdin (injectable for tests)
  tmpDir?: string; // where stdin is spooled (default os.tmpdir())
  sheet?: string; // .xlsx: the sheet to read (default: the one named after obj, else the first)
  obj?: string; // .xlsx: --obj, the default sheet's name
  preferSheet?: string; // .xlsx: the sheet read by default when the workbook has one (associate: CMDB's "association")
}

export interface InputSource {
  file: string; // display name for messages: the path as given, or '<stdin>'
  path: string; // the real file read (spool file for stdin)
  format: InputFormat;
  columns: string[] | null; // CSV: header names with hints stripped; JSON/NDJSON: null
  hints: Record<string, TypeHint>; // CSV header type hints, e.g. { port_count: 'int' }
  /** CSV: the delimiter read with (given, or detected from the header); ',' for JSON / NDJSON. */
  delimiter: string;
  /**
   * How the text is stored: its encoding (TextDecoder's name) and whether it starts with a byte order mark. A file
   * written for the user to load again (--failed) is written the same way, so the same command reads it.
   */
  encoding: string;
  bom: boolean;
  /** CSV: rows whose cells were all empty, skipped (not numbered, not checked); counted by the last full read. */
  readonly emptyRows: number;
  /**
   * What the reader decided on its own that the user should be told: a delimiter found in the header, rows taken
   * from an API export, and (after a full read) empty rows skipped. One line each, naming the file.
   */
  notes(): string[];
  /** The `row` of the first record: 1 (the default), or for .xlsx the sheet row where the data starts (rows are sheet rows). */
  firstRow?: number;
  /** .xlsx: the sheet read and its layout (CMDB's own workbook, or a plain header row). */
  sheet?: { name: string; layout: 'cmdb' | 'cmdb-association' | 'plain' };
  /** Streams the records; may be called again to re-read from the start (two-pass pipeline). */
  records(): AsyncIterable<InputRecord>;
  /**
   * The same records in input order, in arrays of a read chunk's worth (one await per chunk instead of one
   * per row: for a million rows read twice, that await was a tenth of the time). Re-readable too.
   */
  batches(): AsyncIterable<InputRecord[]>;
  /** Removes spool files. Idempotent. */
  close(): Promise<void>;
}

const CSV_DELIMITERS = [',', ';', '\t', '|'];

/** Whether the records' values are text to coerce by the field types (CSV, .xlsx) rather than typed JSON values. */
export function cellsAreText(source: Pick<InputSource, 'format'>): boolean {
  return source.format === 'csv' || source.format === 'xlsx';
}
const HEAD_BYTES = 4096;

/** The delimiter for csv-parse: one character; 'tab', '\t' (typed as backslash-t) and a real tab mean tab. */
export function normalizeDelimiter(d: string | undefined): string {
  if (d === undefined) return ',';
  if (d.toLowerCase() === 'tab' || d === '\\t' || d === '\t') return '\t';
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') {
    throw new UsageError(`invalid delimiter "${d}"`, 'use one character such as , ; | or the word tab');
  }
  return d;
}

/**
 * The format of `file` from its extension; for standard input ('-') or when `head` (the first bytes) is given
 * and the extension says nothing, from the content: `[` -> json; `{` -> ndjson, or json when it is one object
 * with a rows array (an API answer, json-export.ts); CSV only when the first line holds the delimiter (any of
 * , ; tab | when none was given) and no `{` (a guess we only make when the content looks like a table).
 */
export function detectFormat(file: string, head?: Buffer, delimiter?: string): InputFormat | null {
  const byExt = formatOfPath(file);
  if (byExt) return byExt;
  if (!head) return null;
  if (isWorkbookLike(head)) return 'xlsx';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return isApiExport(text) ? 'json' : 'ndjson';
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if ((delimiter ? [delimiter] : CSV_DELIMITERS).some((d) => firstLine.includes(d)) && !firstLine.includes('{')) return 'csv';
  return null;
}

/** One JSON object with a rows array (not a first NDJSON line followed by more). */
function isApiExport(text: string): boolean {
  const [first, ...rest] = text.split('\n');
  if (rest.some((l) => l.trim() !== '')) {
    try {
      JSON.parse(first!);
      return false; // a whole object on the first line, and more lines: NDJSON
    } catch {
      // the object goes on over several lines
    }
  }
  const walk = findRows(text);
  return walk !== 'more' && 'path' in walk;
}

async function readHead(path: string, display: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw cannotRead(display, e);
  }
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    throw cannotRead(display, e);
  } finally {
    await fh.close();
  }
}

function cannotRead(display: string, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'no such file'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'it is a directory'
    : (e as Error).message;
  return new UsageError(`cannot read ${display}: ${why}`);
}

async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

/** The first chunk of text (empty for an empty file); stops the stream after it. */
async function firstText(chunks: AsyncIterable<TextChunk>): Promise<string> {
  for await (const c of chunks) return chunkToString(c);
  return '';
}

export async function openInput(opts: OpenInputOptions): Promise<InputSource> {
  const isStdin = opts.file === '-';
  const display = isStdin ? '<stdin>' : opts.file;
  if (opts.format !== undefined && !(FORMATS as readonly string[]).includes(opts.format)) {
    throw new UsageError(`unknown format "${opts.format}"`, `use one of ${FORMATS.join(', ')}`);
  }
  let delimiter = opts.delimiter === undefined ? undefined : normalizeDelimiter(opts.delimiter);
  const explicit = opts.encoding !== undefined;
  let encoding = explicit ? resolveEncoding(opts.encoding!) : 'utf-8';

  let format = opts.format ?? null;

  let path = opts.file;
  let close = async () => {};
  if (isStdin) {
    const spool = await spoolStdin(opts.stdin ?? process.stdin, opts.tmpDir);
    path = spool.path;
    close = spool.remove;
  }
  try {
    const head = await readHead(path, display);
    const bom = bomEncoding(head) !== null || (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf);
    // A UTF-16 byte order mark is unambiguous: decode as UTF-16 even without --encoding.
    if (!explicit) encoding = bomEncoding(head) ?? encoding;
    else if (encoding !== 'utf-8' && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
      // A UTF-8 byte order mark: decoding as anything else would garble every non-ASCII character.
      throw new UsageError(`${display} starts with a UTF-8 byte order mark, but --encoding ${opts.encoding} was given`, 'the file is UTF-8: drop --encoding');
    }
    if (!format && !isStdin) {
      format = detectFormat(opts.file);
      if (!format && extname(opts.file).toLowerCase() === '.xls') {
        throw new UsageError(`${display} is an old-style Excel file (.xls), which is not read`, 'open it in Excel and save it as "Excel Workbook (*.xlsx)"');
      }
      if (!format) {
        throw new UsageError(
          `cannot tell the format of ${display} from its extension`,
          `name it ${KNOWN_EXTENSIONS.slice(0, -1).join(', ')} or ${KNOWN_EXTENSIONS.at(-1)}, or pass --format ${FORMATS.join('|')}`,
        );
      }
    }
    // Standard input: a workbook before any text decoding (an OLE document is a password-protected workbook or an
    // .xls: the xlsx reader says which).
    if (!format && isWorkbookLike(head)) format = 'xlsx';
    if (format !== 'xlsx' && isZip(head)) {
      throw new UsageError(`${display} is an Excel workbook (.xlsx), not ${format}`, `name it .xlsx or pass --format xlsx`);
    }
    if (!format) {
      const text = encoding === 'utf-8' ? head : Buffer.from(new TextDecoder(encoding).decode(head));
      format = detectFormat('-', text, delimiter);
      if (!format) {
        throw new UsageError(
          'cannot tell the format of standard input from its content',
          'pass --format csv, --format json, --format ndjson or --format xlsx',
        );
      }
    }
    if (format === 'xlsx') {
      // Loaded only now: CSV runs and --help never pay for the workbook library.
      const { openXlsx } = await import('./xlsx.js');
      const x = await openXlsx({ path, display, sheet: opts.sheet, obj: opts.obj, prefer: opts.preferSheet });
      const batches = x.batches;
      const closeAll = async () => {
        await x.close();
        await close();
      };
      return {
        file: display,
        path,
        format,
        columns: x.columns,
        hints: x.hints,
        firstRow: x.firstRow,
        sheet: { name: x.sheet, layout: x.layout },
        delimiter: ',',
        encoding: 'utf-8',
        bom: false,
        emptyRows: 0, // an empty row between data rows is a row (see xlsx.ts); empty rows after them are not rows
        notes: () => [],
        records: () => flatten(batches()),
        batches,
        close: closeAll,
      };
    }
    const chunks = () => textChunks(path, display, encoding, explicit);
    let columns: string[] | null = null;
    let hints: Record<string, TypeHint> = Object.create(null);
    let batches: () => AsyncIterable<InputRecord[]>;
    const said: string[] = [];
    const tally: CsvTally = { emptyRows: 0 };
    if (format === 'csv') {
      if (delimiter === undefined) {
        delimiter = sniffDelimiter(await firstText(chunks()), display);
        if (delimiter !== ',') said.push(`${display}: delimiter ${delimiterName(delimiter)} (detected from the header; --delimiter chooses another)`);
      }
      const d = delimiter;
      const header = await readCsvHeader(chunks(), display, d);
      columns = header.columns;
      hints = header.hints;
      const cols = columns;
      batches = () => csvBatches(chunks(), display, d, cols, tally);
    } else {
      // Read the first chunk now, so that a wrong encoding or a file that is plainly not a JSON array
      // fails at open rather than mid-run (the readers check again as they stream).
      const text = await firstText(chunks());
      if (format === 'json') {
        const start = text.trimStart();
        if (text === '') throw new UsageError(`${display} is empty: ${NOT_ARRAY}`);
        let exp: JsonExport | undefined;
        if (start.startsWith('{')) {
          exp = await findExport(chunks(), display);
          said.push(`${display}: an API export: the rows are the array at ${exp.path} (the rest of the object is not loaded)`);
        } else if (start !== '' && !start.startsWith('[')) throw new UsageError(`${display}: ${NOT_ARRAY}`);
        batches = () => jsonBatches(chunks(), display, exp);
      } else {
        batches = () => ndjsonBatches(chunks());
      }
    }
    const notes = () =>
      tally.emptyRows > 0 ? [...said, `${display}: ${tally.emptyRows} row${tally.emptyRows === 1 ? '' : 's'} with every cell empty skipped (not counted as rows)`] : said;
    return {
      file: display,
      path,
      format,
      columns,
      hints,
      delimiter: delimiter ?? ',',
      encoding,
      bom,
      get emptyRows() {
        return tally.emptyRows;
      },
      notes,
      records: () => flatten(batches()),
      batches,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
