/**
 * Where exported rows go: one encoder per format (a table, so xlsx joins with one line) and a file written as the
 * pages arrive. The file is written beside its final name (`<out>.partial`) and renamed when the last page is in,
 * so an interrupted or failed export never leaves a file that looks complete.
 *
 * Values are written the way create-inst / update-inst read them back (src/schema/fields.ts, fromText):
 * numbers and booleans as their JSON text, enum option ids, lists as "a,b" (or a JSON array when an item holds a
 * separator), JSON fields as JSON, everything else as the text the server holds. CSV cells are not prefixed
 * against spreadsheet formulas (the report is; this file is data that must load back unchanged).
 */
import { createWriteStream, existsSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { UsageError } from '../core/errors.js';
import { csvLine } from '../report/csv.js';
import type { FieldSpec } from '../schema/fields.js';

export type ExportFormat = 'csv' | 'ndjson' | 'json' | 'xlsx' | 'cmdb-xlsx';
export const EXPORT_FORMATS: ExportFormat[] = ['csv', 'ndjson', 'json', 'xlsx', 'cmdb-xlsx'];

export type Row = Record<string, unknown>;

/** Text of one format: what opens the file, each row, what goes between rows, what closes it. */
export interface Encoder {
  head: string;
  row(r: Row): string;
  between: string;
  tail: string;
}

interface FormatEntry {
  ext: string;
  encoder?: (columns: string[], specs: Map<string, FieldSpec>) => Encoder;
  /** Why the format cannot be written by this build. */
  unavailable?: string;
}

const NO_XLSX = 'xlsx output is not in this build yet (it comes with the Excel work); use --format csv, which Excel opens, or ndjson';

export const FORMATS: Record<ExportFormat, FormatEntry> = {
  csv: { ext: 'csv', encoder: csvEncoder },
  ndjson: { ext: 'ndjson', encoder: (columns) => ({ head: '', row: (r) => JSON.stringify(pick(r, columns)) + '\n', between: '', tail: '' }) },
  json: { ext: 'json', encoder: (columns) => ({ head: '[\n', row: (r) => JSON.stringify(pick(r, columns)), between: ',\n', tail: '\n]\n' }) },
  xlsx: { ext: 'xlsx', unavailable: NO_XLSX },
  'cmdb-xlsx': { ext: 'xlsx', unavailable: NO_XLSX },
};

/** The row's values for `columns`, in that order, leaving out what the server did not send. */
function pick(r: Row, columns: string[]): Row {
  const out: Row = {};
  for (const c of columns) if (r[c] !== undefined) out[c] = r[c];
  return out;
}

/** Separators a list cell is split on when read back (src/schema/fields.ts LIST_SEPARATOR). */
const LIST_SEPARATOR = /[,;，；、|]/;

/** The cell text of a value of this field, as create-inst / update-inst read it back. */
export function cellValue(spec: FieldSpec | undefined, v: unknown): unknown {
  if (v === null || v === undefined) return '';
  if (spec?.type === 'json') return JSON.stringify(v);
  if (Array.isArray(v)) {
    const plain = v.every((x) => (typeof x === 'string' && !LIST_SEPARATOR.test(x) && x.trim() === x && x !== '') || typeof x === 'number');
    return plain ? v.join(',') : JSON.stringify(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

function csvEncoder(columns: string[], specs: Map<string, FieldSpec>): Encoder {
  const fields = columns.map((c) => specs.get(c));
  return {
    head: csvLine(columns, false),
    row: (r) => csvLine(columns.map((c, i) => cellValue(fields[i], r[c])), false),
    between: '',
    tail: '',
  };
}

/** The format: the flag, else the --out extension, else csv. xlsx is refused while it is not built. */
export function exportFormat(flag: string | undefined, out: string | undefined): ExportFormat {
  const ext = out && out !== '-' ? /\.([a-z]+)$/i.exec(out)?.[1]?.toLowerCase() : undefined;
  const f = (flag ?? (ext === 'jsonl' ? 'ndjson' : EXPORT_FORMATS.find((x) => FORMATS[x].ext === ext)) ?? 'csv') as ExportFormat;
  const entry = FORMATS[f];
  if (entry.unavailable) throw new UsageError(`--format ${f}: ${entry.unavailable}`, 'run again with --format csv (or an --out path ending in .csv)');
  return f;
}

/** A file (or stdout for "-") that rows are written to page by page, with backpressure. */
export class RowSink {
  private readonly stream: NodeJS.WritableStream;
  private readonly file?: WriteStream;
  private readonly encoder: Encoder;
  private readonly partial?: string;
  rows = 0;

  private constructor(readonly out: string, encoder: Encoder, overwrite: boolean) {
    this.encoder = encoder;
    if (out === '-') {
      this.stream = process.stdout;
      return;
    }
    if (existsSync(out) && !overwrite) throw new UsageError(`${out} exists; export does not overwrite a file unless asked`, 'choose another --out path, or add --overwrite');
    this.partial = `${out}.partial`;
    this.file = createWriteStream(this.partial);
    this.stream = this.file;
  }

  static async open(out: string, format: ExportFormat, columns: string[], specs: Map<string, FieldSpec>, overwrite: boolean): Promise<RowSink> {
    const sink = new RowSink(out, FORMATS[format].encoder!(columns, specs), overwrite);
    if (sink.file) {
      const opened = once(sink.file, 'open');
      const failed = once(sink.file, 'error').then(([e]) => {
        throw new UsageError(`cannot write ${sink.partial}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the --out folder exists and is writable');
      });
      await Promise.race([opened, failed]);
    }
    await sink.write(sink.encoder.head);
    return sink;
  }

  /** Writes one page of rows; resolves when the stream can take more. */
  async page(rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    let text = '';
    for (const r of rows) {
      text += (this.rows > 0 ? this.encoder.between : '') + this.encoder.row(r);
      this.rows++;
    }
    await this.write(text);
  }

  /** Writes the end of the file and moves it to its name. */
  async commit(): Promise<void> {
    await this.write(this.encoder.tail);
    if (!this.file) return;
    this.file.end();
    await once(this.file, 'close');
    renameSync(this.partial!, this.out);
  }

  /** Closes and removes the unfinished file. */
  async discard(): Promise<void> {
    if (!this.file) return;
    this.file.end();
    await once(this.file, 'close').catch(() => undefined);
    rmSync(this.partial!, { force: true });
  }

  private async write(text: string): Promise<void> {
    if (text !== '' && !this.stream.write(text)) await once(this.stream, 'drain');
  }
}
