/**
 * `--failed <path>`: the rows that did not end ok (failed / invalid / unsent), in the input's own format and
 * columns, so a user can fix them and load the file again. Each row carries its error LAST, in a column
 * (CSV) or key (JSON / NDJSON) named `_error`, which the tool ignores on input.
 *
 * Cells are written exactly as read (no formula neutralising: this file is input data, not a report), in the
 * input's encoding, with a byte order mark when the input had one: a GB18030 file gives a GB18030 file, so that the
 * same command (--encoding gb18030) loads it again and Excel opens it (input/encode.ts). An encoding with no
 * encoder here (ISO-2022-JP) gives UTF-8 with a byte order mark, which the tool reads without --encoding.
 * An .xlsx input gets an .xlsx (xlsx-failed.ts, loaded only then).
 * Writes are gathered into chunks of about 64 KB; the report, not this file, is the crash-safe record.
 */
import * as fs from 'node:fs';
import { TYPE_HINTS } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import { byteOrderMark, encoderFor, type Encode } from '../input/encode.js';
import { csvLine } from './csv.js';

export const FAILED_ERROR_COLUMN = '_error';

const HINTS = new Set<string>(TYPE_HINTS);
const FLUSH_AT = 64 * 1024;

/** `port_count:int` → `port_count` (the key the input reader uses); a name without a known hint is kept. */
export function columnKey(header: string): string {
  const name = header.trim();
  const i = name.lastIndexOf(':');
  return i > 0 && HINTS.has(name.slice(i + 1).trim().toLowerCase()) ? name.slice(0, i).trim() : name;
}

/** What the pipeline uses of a failed-rows file, whatever its format. */
export interface FailedRows {
  readonly count: number;
  add(values: Record<string, unknown>, error: string): void;
  flush(): void;
  finish(): Promise<void>;
}

export interface FailedRowsWriterOptions {
  path: string;
  format: 'csv' | 'json' | 'ndjson' | 'xlsx';
  /** .xlsx: the input's sheet name, kept for the failed rows. */
  sheet?: string;
  /** Input columns in order, with their original header text incl. type hints, e.g. 'port_count:int'. */
  columns: string[];
  /** CSV delimiter of the input; default ','. */
  delimiter?: string;
  /** The input's encoding (TextDecoder's name; default 'utf-8') and whether it started with a byte order mark. */
  encoding?: string;
  bom?: boolean;
}

export class FailedRowsWriter implements FailedRows {
  private readonly fd: number;
  private readonly opts: FailedRowsWriterOptions;
  /** [header text, key in values] for CSV; a previous run's `_error` column is not repeated. */
  private readonly cols: [string, string][];
  /** Text to bytes in the input's encoding; undefined: UTF-8, written as the string it is. */
  private readonly encode: Encode | undefined;
  private pending = '';
  private n = 0;
  private done = false;

  private constructor(fd: number, opts: FailedRowsWriterOptions, encode: Encode | undefined) {
    this.fd = fd;
    this.encode = encode;
    this.opts = opts;
    this.cols = opts.columns.filter((c) => columnKey(c) !== FAILED_ERROR_COLUMN).map((c) => [c, columnKey(c)]);
  }

  static async open(opts: FailedRowsWriterOptions): Promise<FailedRows> {
    // A workbook's rows are text like a CSV's: `--failed fix.csv` of a workbook gets what its name says.
    if (opts.format === 'xlsx' && /\.csv$/i.test(opts.path)) return FailedRowsWriter.open({ ...opts, format: 'csv' });
    if (opts.format === 'xlsx') {
      const { XlsxFailedRows } = await import('./xlsx-failed.js');
      const cols = opts.columns.filter((c) => columnKey(c) !== FAILED_ERROR_COLUMN).map((c): [string, string] => [c, columnKey(c)]);
      return XlsxFailedRows.open(opts.path, opts.sheet ?? 'failed', cols, FAILED_ERROR_COLUMN);
    }
    let fd: number;
    try {
      fd = fs.openSync(opts.path, 'w');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`cannot write the failed-rows file ${opts.path}: ${e.code ?? e.message}`, 'choose another path with --failed');
    }
    const { encode, bom } = textEncoding(opts);
    const w = new FailedRowsWriter(fd, opts, encode);
    if (bom.length > 0) fs.writeSync(fd, bom);
    if (opts.format === 'csv') {
      w.pending = csvLine([...w.cols.map(([header]) => header), FAILED_ERROR_COLUMN], false, w.delimiter);
    } else if (opts.format === 'json') {
      w.pending = '[';
    }
    return w;
  }

  private get delimiter(): string {
    return this.opts.delimiter ?? ',';
  }

  /** Rows written so far. */
  get count(): number {
    return this.n;
  }

  /** One row: its original values (keyed like the input reader keys them) and why it did not land. */
  add(values: Record<string, unknown>, error: string): void {
    if (this.done) throw new Error('failed-rows file: add() after finish()');
    if (this.opts.format === 'csv') {
      const cells: unknown[] = this.cols.map(([, key]) => values[key]);
      cells.push(error);
      this.pending += csvLine(cells, false, this.delimiter);
    } else {
      // Null prototype: a "__proto__" key in the data stays data.
      const rec: Record<string, unknown> = Object.create(null);
      for (const k of Object.keys(values)) if (k !== FAILED_ERROR_COLUMN) rec[k] = values[k];
      rec[FAILED_ERROR_COLUMN] = error;
      const line = JSON.stringify(rec);
      this.pending += this.opts.format === 'json' ? (this.n === 0 ? '\n' : ',\n') + line : line + '\n';
    }
    this.n++;
    if (this.pending.length >= FLUSH_AT) this.flush();
  }

  /** Writes what is gathered (the pipeline may call this after each batch). */
  flush(): void {
    if (this.pending) {
      if (this.encode) fs.writeSync(this.fd, this.encode(this.pending));
      else fs.writeSync(this.fd, this.pending);
      this.pending = '';
    }
  }

  async finish(): Promise<void> {
    if (this.done) return;
    if (this.opts.format === 'json') this.pending += '\n]\n';
    this.flush();
    this.done = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/**
 * How the file's text becomes bytes: the input's encoding (undefined `encode`: UTF-8, the default) and the byte
 * order mark to start with. With no encoder for the input's encoding, UTF-8 with a mark (read without --encoding).
 */
function textEncoding(opts: FailedRowsWriterOptions): { encode: Encode | undefined; bom: Buffer } {
  const encoding = opts.encoding ?? 'utf-8';
  const encode = encoding === 'utf-8' ? undefined : encoderFor(encoding);
  if (encode === null) return { encode: undefined, bom: byteOrderMark('utf-8') };
  return { encode, bom: opts.bom ? byteOrderMark(encoding) : Buffer.alloc(0) };
}
