/**
 * Where exported rows go: one writer per format (text encoders here, workbooks in xlsx-sink.ts) and a file written as the
 * pages arrive. The file is written beside its final name (`<out>.partial`) and renamed when the last page is in,
 * so an interrupted or failed export never leaves a file that looks complete.
 *
 * Values are written the way create-inst / update-inst read them back (src/schema/fields.ts, fromText):
 * numbers and booleans as their JSON text, enum option ids, lists as "a,b" (or a JSON array when an item holds a
 * separator), JSON fields as JSON, everything else as the text the server holds. CSV cells are not prefixed
 * against spreadsheet formulas (the report is; this file is data that must load back unchanged).
 */
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { UsageError } from '../core/errors.js';
import { csvLine } from '../report/csv.js';
import { LIST_SEPARATOR, type FieldSpec } from '../schema/fields.js';
import { boundHeapGrowth } from '../pipeline/heap.js';

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

/** What a format writes into: pages of rows as they come, then the end of the file. */
export interface PageWriter {
  page(rows: Row[]): Promise<void>;
  end(): Promise<void>;
  /** Stops writing (the file is then removed by the caller). */
  abort(): Promise<void>;
}

/**
 * `--format cmdb-xlsx` of associations: CMDB's association sheet, beside the empty sheet of the model (`model`, with
 * its fields `columns` / `specs`) on whose import page CMDB reads it (cmdb-assoc-sheet.ts).
 */
export interface AssociationBook {
  model: string;
  columns: string[];
  specs: Map<string, FieldSpec>;
}

/** Where a format writes: a file path (the partial file), or stdout for `--out -`. */
export type Target = { path: string } | { stdout: NodeJS.WritableStream };

interface FormatEntry {
  ext: string;
  open?: (target: Target, columns: string[], specs: Map<string, FieldSpec>, name: string, book?: AssociationBook) => Promise<PageWriter>;
}

const text = (encoder: (columns: string[], specs: Map<string, FieldSpec>) => Encoder): FormatEntry['open'] =>
  (target, columns, specs) => textWriter(target, encoder(columns, specs));

export const FORMATS: Record<ExportFormat, FormatEntry> = {
  csv: { ext: 'csv', open: text(csvEncoder) },
  ndjson: { ext: 'ndjson', open: text((columns) => ({ head: '', row: (r) => JSON.stringify(pick(r, columns)) + '\n', between: '', tail: '' })) },
  json: { ext: 'json', open: text((columns) => ({ head: '[\n', row: (r) => JSON.stringify(pick(r, columns)), between: ',\n', tail: '\n]\n' })) },
  xlsx: { ext: 'xlsx', open: workbook('openPlainXlsx') },
  'cmdb-xlsx': { ext: 'xlsx', open: workbook('openCmdbXlsx') },
};

/** A workbook format: its writer module is imported here, on first use, so other formats never load the library. */
function workbook(fn: 'openPlainXlsx' | 'openCmdbXlsx'): FormatEntry['open'] {
  return async (target, columns, specs, name, book) => {
    const xlsx = await import('./xlsx-sink.js');
    return xlsx[fn]((target as { path: string }).path, columns, specs, name, book); // destination() sends no workbook to stdout
  };
}

/** The row's values for `columns`, in that order, leaving out what the server did not send. */
function pick(r: Row, columns: string[]): Row {
  const out: Row = {};
  for (const c of columns) if (r[c] !== undefined) out[c] = r[c];
  return out;
}

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

/** The format: the flag, else the --out extension (.xlsx: the plain sheet), else csv. */
export function exportFormat(flag: string | undefined, out: string | undefined): ExportFormat {
  const ext = out && out !== '-' ? /\.([a-z]+)$/i.exec(out)?.[1]?.toLowerCase() : undefined;
  const f = (flag ?? (ext === 'jsonl' ? 'ndjson' : EXPORT_FORMATS.find((x) => FORMATS[x].ext === ext)) ?? 'csv') as ExportFormat;
  return f;
}

/** A text format on a stream: the head, each page's rows joined, the tail; waits when the stream is full. */
async function textWriter(target: Target, encoder: Encoder): Promise<PageWriter> {
  const path = 'path' in target ? target.path : undefined;
  const file = path !== undefined ? createWriteStream(path) : undefined;
  const stream = file ?? (target as { stdout: NodeJS.WritableStream }).stdout;
  let failure: Error | undefined;
  if (file) {
    file.on('error', (e) => (failure = e));
    await new Promise((opened) => file.once('open', opened).once('error', opened));
  }
  const write = async (t: string) => {
    if (failure) throw cannotWrite(path, failure);
    if (t === '' || stream.write(t)) return;
    await once(stream, 'drain').catch((e: Error) => {
      throw cannotWrite(path, e);
    });
  };
  let first = true;
  await write(encoder.head);
  return {
    async page(rows) {
      let t = '';
      for (const r of rows) {
        t += (first ? '' : encoder.between) + encoder.row(r);
        first = false;
      }
      await write(t);
    },
    async end() {
      await write(encoder.tail);
      if (!file) return;
      file.end();
      await finished(file).catch(() => undefined);
      if (failure) throw cannotWrite(path, failure);
    },
    async abort() {
      if (!file) return;
      file.destroy();
      await finished(file).catch(() => undefined);
    },
  };
}

function cannotWrite(path: string | undefined, e: Error): UsageError {
  const code = (e as NodeJS.ErrnoException).code ?? e.message;
  if (path === undefined) return new UsageError(`cannot write to stdout: ${code}`, 'the program reading the export stopped before the end (e.g. head); write to a file with --out <path> to keep it all');
  return new UsageError(`cannot write ${path}: ${code}`, 'check that the --out folder exists and is writable, and that the disk has room');
}

/**
 * Where the export goes, checked before anything is read: stdout for "-"; a device or a pipe (/dev/stdout, a FIFO)
 * written to as it is, since a partial file renamed over it would replace it; otherwise a file written as
 * `<out>.partial` and renamed when complete, refused when it exists unless `overwrite`, and when it is a folder.
 */
export interface Destination {
  out: string;
  format: ExportFormat;
  name: string;
  /** Where the writer writes; `partial` when that is not `out` itself. */
  target: Target;
  partial?: string;
}

export function destination(out: string, format: ExportFormat, name: string, overwrite: boolean): Destination {
  if (out === '-' && FORMATS[format].ext === 'xlsx') throw new UsageError(`--format ${format} cannot go to stdout: a workbook is a zip file`, `write it to a file: --out ${name}.xlsx`);
  if (out === '-') return { out, format, name, target: { stdout: process.stdout } };
  const existing = statSync(out, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new UsageError(`--out ${out} is a folder`, `name a file in it, e.g. --out ${out.replace(/\/$/, '')}/${name}.${FORMATS[format].ext}`);
  if (existing && !existing.isFile()) return { out, format, name, target: { path: out } };
  if (existing && !overwrite) throw new UsageError(`${out} exists; export does not overwrite a file unless asked`, 'choose another --out path, or add --overwrite');
  const partial = `${out}.partial`;
  return { out, format, name, target: { path: partial }, partial };
}

/** The export's file being written: pages in, then commit (rename into place) or discard. Counts the rows. */
export class RowSink {
  rows = 0;
  private constructor(
    readonly out: string,
    private readonly writer: PageWriter,
    private readonly partial?: string,
  ) {}

  static async open(d: Destination, columns: string[], specs: Map<string, FieldSpec>, book?: AssociationBook): Promise<RowSink> {
    boundHeapGrowth(); // a million rows pass through: keep the heap near what is live (pipeline/heap.ts)
    const writer = await FORMATS[d.format].open!(d.target, columns, specs, d.name, book).catch((e: unknown) => {
      if (d.partial) rmSync(d.partial, { force: true });
      throw e;
    });
    return new RowSink(d.out, writer, d.partial);
  }

  /** Writes one page of rows; resolves when the file can take more. */
  async page(rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    await this.writer.page(rows);
    this.rows += rows.length;
  }

  /** Writes the end of the file and moves it to its name. */
  async commit(): Promise<void> {
    await this.writer.end();
    if (this.partial) renameSync(this.partial, this.out);
  }

  /** Stops and removes the unfinished file. */
  async discard(): Promise<void> {
    await this.writer.abort();
    if (this.partial) rmSync(this.partial, { force: true });
  }
}
