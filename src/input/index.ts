/**
 * Input readers: open a CSV / JSON / NDJSON file or an .xlsx workbook (or standard input) and stream its records.
 * Problems that stop everything throw UsageError; problems of one record come back as a record with `error`.
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { InputFormat, InputRecord, TypeHint } from '../core/types.js';
import { bomEncoding, chunkToString, resolveEncoding, textChunks, type TextChunk } from './decode.js';
import { csvBatches, readCsvHeader } from './csv.js';
import { jsonBatches, NOT_ARRAY } from './json.js';
import { ndjsonBatches } from './ndjson.js';
import { spoolStdin } from './spool.js';

export interface OpenInputOptions {
  file: string; // path, or '-' for standard input
  format?: InputFormat; // overrides the extension
  encoding?: string; // default 'utf-8'; any label TextDecoder knows (gb18030, gbk, utf-16le...)
  delimiter?: string; // CSV only, default ','; accept '\t' and the word 'tab'
  stdin?: NodeJS.ReadableStream; // default process.stdin (injectable for tests)
  tmpDir?: string; // where stdin is spooled (default os.tmpdir())
  sheet?: string; // .xlsx: the sheet to read (default: the one named after obj, else the first)
  obj?: string; // .xlsx: --obj, the default sheet's name
}

export interface InputSource {
  file: string; // display name for messages: the path as given, or '<stdin>'
  path: string; // the real file read (spool file for stdin)
  format: InputFormat;
  columns: string[] | null; // CSV: header names with hints stripped; JSON/NDJSON: null
  hints: Record<string, TypeHint>; // CSV header type hints, e.g. { port_count: 'int' }
  /** The `row` of the first record: 1 (the default), or for .xlsx the sheet row where the data starts (rows are sheet rows). */
  firstRow?: number;
  /** .xlsx: the sheet read and its layout (CMDB's own workbook, or a plain header row). */
  sheet?: { name: string; layout: 'cmdb' | 'plain' };
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

const EXTENSIONS: Record<string, InputFormat> = { '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.xlsx': 'xlsx', '.xlsm': 'xlsx' };
const FORMATS: readonly InputFormat[] = ['csv', 'json', 'ndjson', 'xlsx'];
/** A zip archive (every .xlsx is one) starts with these bytes. */
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

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
 * and the extension says nothing, from the content: `[` -> json, `{` -> ndjson; CSV only when the first line
 * holds the delimiter and no `{` (a guess we only make when the content looks like a table).
 */
export function detectFormat(file: string, head?: Buffer, delimiter = ','): InputFormat | null {
  const byExt = file === '-' ? undefined : EXTENSIONS[extname(file).toLowerCase()];
  if (byExt) return byExt;
  if (!head) return null;
  if (head.subarray(0, 4).equals(ZIP_MAGIC)) return 'xlsx';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return 'ndjson';
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (firstLine.includes(delimiter) && !firstLine.includes('{')) return 'csv';
  return null;
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
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) {
    throw new UsageError(`unknown format "${opts.format}"`, `use one of ${FORMATS.join(', ')}`);
  }
  const delimiter = normalizeDelimiter(opts.delimiter);
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
          'name it .csv, .json, .ndjson, .jsonl or .xlsx, or pass --format csv|json|ndjson|xlsx',
        );
      }
    }
    const isZip = head.subarray(0, 4).equals(ZIP_MAGIC);
    if (!format && isZip) format = 'xlsx';
    if (format !== 'xlsx' && isZip) {
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
      const x = await openXlsx({ path, display, sheet: opts.sheet, obj: opts.obj });
      const batches = x.batches;
      const closeAll = async () => {
        await x.close();
        await close();
      };
      return { file: display, path, format, columns: x.columns, hints: x.hints, firstRow: x.firstRow, sheet: { name: x.sheet, layout: x.layout }, records: () => flatten(batches()), batches, close: closeAll };
    }
    const chunks = () => textChunks(path, display, encoding, explicit);
    let columns: string[] | null = null;
    let hints: Record<string, TypeHint> = Object.create(null);
    let batches: () => AsyncIterable<InputRecord[]>;
    if (format === 'csv') {
      const header = await readCsvHeader(chunks(), display, delimiter);
      columns = header.columns;
      hints = header.hints;
      const cols = columns;
      batches = () => csvBatches(chunks(), display, delimiter, cols);
    } else {
      // Read the first chunk now, so that a wrong encoding or a file that is plainly not a JSON array
      // fails at open rather than mid-run (the readers check again as they stream).
      const text = await firstText(chunks());
      if (format === 'json') {
        const start = text.trimStart();
        if (text === '') throw new UsageError(`${display} is empty: ${NOT_ARRAY}`);
        if (start !== '' && !start.startsWith('[')) throw new UsageError(`${display}: ${NOT_ARRAY}`);
        batches = () => jsonBatches(chunks(), display);
      } else {
        batches = () => ndjsonBatches(chunks());
      }
    }
    return { file: display, path, format, columns, hints, firstRow: 1, records: () => flatten(batches()), batches, close };
  } catch (e) {
    await close();
    throw e;
  }
}
