/**
 * Input readers: open a CSV / JSON / NDJSON file (or standard input) and stream its records.
 * Problems that stop everything throw UsageError; problems of one record come back as a record with `error`.
 */
import { open } from 'node:fs/promises';
import { UsageError } from '../core/errors.js';
import { formatOfPath, INPUT_FORMATS as FORMATS, KNOWN_EXTENSIONS } from '../core/formats.js';
import type { InputFormat, InputRecord, TypeHint } from '../core/types.js';
import { bomEncoding, chunkToString, resolveEncoding, textChunks, type TextChunk } from './decode.js';
import { csvBatches, readCsvHeader } from './csv.js';
import { jsonBatches, NOT_ARRAY } from './json.js';
import { ndjsonBatches } from './ndjson.js';
import { spoolStdin } from './spool.js';

export interface OpenInputOptions {
  file: string; // path, or '-' for standard input
  format?: InputFormat; // overrides the extension
  encoding?: string; // default: UTF-16 when the file starts with its byte order mark, else utf-8; any label TextDecoder knows (gb18030, gbk, utf-16le...)
  delimiter?: string; // CSV only, default ','; accept '\t' and the word 'tab'
  stdin?: NodeJS.ReadableStream; // default process.stdin (injectable for tests)
  tmpDir?: string; // where stdin is spooled (default os.tmpdir())
}

export interface InputSource {
  file: string; // display name for messages: the path as given, or '<stdin>'
  path: string; // the real file read (spool file for stdin)
  format: InputFormat;
  columns: string[] | null; // CSV: header names with hints stripped; JSON/NDJSON: null
  hints: Record<string, TypeHint>; // CSV header type hints, e.g. { port_count: 'int' }
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
  const byExt = formatOfPath(file);
  if (byExt) return byExt;
  if (!head) return null;
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
  if (opts.format !== undefined && !(FORMATS as readonly string[]).includes(opts.format)) {
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
      if (!format) {
        throw new UsageError(
          `cannot tell the format of ${display} from its extension`,
          `name it ${KNOWN_EXTENSIONS.slice(0, -1).join(', ')} or ${KNOWN_EXTENSIONS.at(-1)}, or pass --format ${FORMATS.join('|')}`,
        );
      }
    }
    if (!format) {
      const text = encoding === 'utf-8' ? head : Buffer.from(new TextDecoder(encoding).decode(head));
      format = detectFormat('-', text, delimiter);
      if (!format) {
        throw new UsageError(
          'cannot tell the format of standard input from its content',
          'pass --format csv, --format json or --format ndjson',
        );
      }
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
    return { file: display, path, format, columns, hints, records: () => flatten(batches()), batches, close };
  } catch (e) {
    await close();
    throw e;
  }
}
