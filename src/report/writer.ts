/**
 * The per-row report, written as the run goes.
 *
 * Batches finish in any order; the report must list rows in input order. The report gets each row, with a
 * synchronous write, as soon as every earlier row is there; a row that has to wait for an earlier one is held
 * in a reorder buffer AND appended at once, with a synchronous write, to a journal (`<report>.journal`,
 * NDJSON). So when add() returns, every row it was given is on disk in the report or in the journal, and a
 * SIGKILL loses nothing finished (readPriorReport merges the two). Rows that go straight to the report are
 * not journaled too: that would double the work for nothing. finish() removes the journal. See docs/report.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportFormat, RowOutcome } from '../core/types.js';
import { ROW_STATUSES } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import { ByteSink } from './byte-sink.js';
import { csvCell, csvLine } from './csv.js';
import { fingerprint, fingerprintText } from './fingerprint.js';

/**
 * The report's own columns, in order. `action` and `before` are filled by the commands that change existing
 * records (sync: what it did to the row's target, and the values an update replaced, as JSON) so that `revert`
 * can undo a run; empty otherwise. `fingerprint` is the hash of the row's input values (fingerprint.ts). `target`
 * is the model the run wrote to, the same on every row, for the commands `revert` undoes (so a report alone is
 * enough to revert it); empty otherwise.
 */
export const REPORT_COLUMNS: readonly string[] = ['row', 'status', 'id', 'error_code', 'error', 'detail', 'action', 'before', 'fingerprint', 'target'];

/** A report column's value for an outcome (the row's input values give its fingerprint; `before` is JSON). */
function columnValue(o: RowOutcome, column: string, target: string | undefined): unknown {
  if (column === 'fingerprint') return fingerprintText(o.values);
  if (column === 'before') return o.before === undefined ? undefined : JSON.stringify(o.before);
  if (column === 'target') return target;
  return (o as unknown as Record<string, unknown>)[column];
}

export interface ReportWriterOptions {
  /** File path, or '-' for stdout. */
  path: string;
  format: ReportFormat;
  /** The input's columns, appended after the report's own (CSV) so the report keeps the source row. */
  inputColumns: string[];
  /** Default 1: rows are firstRow..N, consecutive. */
  firstRow?: number;
  /** Default true for files (never for '-'): append every row that has to wait at once to `<path>.journal`. */
  journal?: boolean;
  /** Where '-' writes; default process.stdout. */
  stdout?: NodeJS.WritableStream;
  /** The report's `target` column on every row: the model the run wrote to (Session.target); none: empty. */
  target?: string;
  /**
   * Default true: finish() flushes the file to the disk (fsync) before it returns. False for a dry run's plan: it
   * records nothing that happened, a crash loses nothing a second dry run would not give back, and the flush of a
   * million rows' plan took ~0.5 s (docs/decisions.md, "A dry run's plan is not flushed to the disk").
   */
  durable?: boolean;
}

/** Names of the CSV report's columns: the report's own, then the input's (prefixed `input.` on a clash). */
export function reportHeader(inputColumns: string[]): string[] {
  const used = new Set<string>(REPORT_COLUMNS);
  const header = [...REPORT_COLUMNS];
  for (const col of inputColumns) {
    let name = col;
    while (used.has(name)) name = `input.${name}`;
    used.add(name);
    header.push(name);
  }
  return header;
}

/**
 * `{"row":1,"status":"ok","id":5` — the outcome without its input values and without the closing brace,
 * key order fixed, absent keys left out. Built by hand: it runs for every row, twice as fast as stringifying
 * an object, and it is shared by the journal line and the JSON / NDJSON report line.
 */
function outcomeHead(o: RowOutcome): string {
  let s = `{"row":${o.row},"status":"${o.status}"`;
  if (o.id !== undefined && o.id !== null) s += `,"id":${jsonValue(o.id)}`;
  if (o.error_code !== undefined && o.error_code !== null) s += `,"error_code":${jsonValue(o.error_code)}`;
  if (o.error !== undefined && o.error !== null) s += `,"error":${JSON.stringify(o.error)}`;
  if (o.detail !== undefined && o.detail !== null) s += `,"detail":${JSON.stringify(o.detail)}`;
  if (o.action !== undefined) s += `,"action":${JSON.stringify(o.action)}`;
  if (o.before !== undefined) s += `,"before":${JSON.stringify(o.before)}`;
  s += `,"fingerprint":"${fingerprintText(o.values)}"`;
  return s;
}

// The pieces of outcomeHead() that recur on every line, as bytes (putHead()).
const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const ROW_KEY = utf8('{"row":');
const STATUS_BYTES = new Map(ROW_STATUSES.map((s) => [s, utf8(`,"status":"${s}"`)]));
const FINGERPRINT_KEY = utf8(',"fingerprint":"');
const QUOTE = utf8('"');
const COMMA = utf8(',');
const NEWLINE = utf8('\n');
const LINE_END = { json: utf8('}'), ndjson: utf8('}\n') };

/** `,"status":"…","detail":"…","fingerprint":"` of a plain row (isPlain()), by status, with the detail it holds. */
type Middles = Map<string, { detail: string | undefined; bytes: Uint8Array }>;

/**
 * outcomeHead(o), written into the report's bytes: the same bytes (test/unit/report-writer.test.ts). A plain row (a
 * dry run's: only a status and a detail, the same on every row) is written without making its string: the row
 * number and the fingerprint as digits, everything between them as one stored piece. Any other row is rare on the
 * hot path (it was sent, or is invalid) and is written as outcomeHead()'s string.
 */
function putHead(sink: ByteSink, o: RowOutcome, middles: Middles): void {
  if (!isPlain(o)) {
    sink.put(outcomeHead(o));
    return;
  }
  sink.putBytes(ROW_KEY);
  sink.putUint(o.row);
  let m = middles.get(o.status);
  if (!m || m.detail !== o.detail) {
    const detail = o.detail === undefined || o.detail === null ? '' : `,"detail":${JSON.stringify(o.detail)}`;
    m = { detail: o.detail, bytes: Buffer.concat([STATUS_BYTES.get(o.status)!, utf8(detail), FINGERPRINT_KEY]) };
    middles.set(o.status, m);
  }
  sink.putBytes(m.bytes);
  sink.putHex32(fingerprint(o.values));
  sink.putBytes(QUOTE);
}

/** `,status,,,,detail,,,` of a plain row's CSV line (the cells between its row number and fingerprint), by status. */
type CsvMiddles = Map<string, { detail: string | undefined; bytes: Uint8Array }>;

/**
 * renderCsv(o) of a plain row (isPlain()), written into the report's bytes without making the line's string: the
 * row number and fingerprint as digits, the cells between them as one stored piece, each input cell as it is (the
 * same bytes: test/unit/report-writer.test.ts). A dry run's plan is a million such lines.
 */
function putCsvPlain(sink: ByteSink, o: RowOutcome, middles: CsvMiddles, targetCell: Uint8Array, cols: string[]): void {
  sink.putUint(o.row);
  let m = middles.get(o.status);
  if (!m || m.detail !== o.detail) {
    m = { detail: o.detail, bytes: utf8(`,${o.status},,,,${csvCell(o.detail, true)},,,`) };
    middles.set(o.status, m);
  }
  sink.putBytes(m.bytes);
  sink.putHex32(fingerprint(o.values));
  sink.putBytes(targetCell);
  // The input's cells as one piece: one call into the encoder a line, not one a cell; the reader's own text of them
  // when it kept it (InputRecord.valuesCsv: the same cells in the same order, none to quote or neutralise).
  if (o.valuesCsv !== undefined) {
    sink.putBytes(COMMA);
    sink.put(o.valuesCsv);
    sink.putBytes(NEWLINE);
    return;
  }
  const v = o.values;
  let cells = '';
  for (let i = 0; i < cols.length; i++) cells += v ? `,${csvCell(v[cols[i]!], true)}` : ',';
  sink.put(cells + '\n');
}

/** No id, error_code, error, action or before: the head is the row number, status, detail and fingerprint. */
function isPlain(o: RowOutcome): boolean {
  return (o.id === undefined || o.id === null) && (o.error_code === undefined || o.error_code === null) && (o.error === undefined || o.error === null) && o.action === undefined && o.before === undefined;
}

function jsonValue(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

/** One line of the journal (no trailing newline). */
export function journalLine(o: RowOutcome): string {
  return outcomeHead(o) + '}';
}

const STATUS_SET = new Set<string>(ROW_STATUSES);
const LAZY_FLUSH = 1 << 16;

export class ReportWriter {
  private readonly opts: ReportWriterOptions;
  private readonly fd: number | null;
  private readonly stream: NodeJS.WritableStream | null;
  /** The report's bytes not written yet: the lazy rows (see add()), or the rows of the add() under way. */
  private readonly sink: ByteSink;
  private journalFd: number | null;
  private readonly journalPath: string | null;
  private readonly inputColumns: string[];
  /** `,"target":"bk_switch"` for a JSON / NDJSON line, or nothing. */
  private readonly targetJson: string;
  /** The target column; and the same followed by the input's key. */
  private readonly targetBytes: Uint8Array;
  private readonly targetInputBytes: Uint8Array;
  /** The stored middles of plain rows (putHead(), putCsvPlain()). */
  private readonly middles: Middles = new Map();
  private readonly csvMiddles: CsvMiddles = new Map();
  /** `,bk_switch`: the CSV line's target cell with the comma before it. */
  private readonly targetCell: Uint8Array;
  /**
   * The reorder buffer: held rows as runs of consecutive rows, each rendered into one string keyed by its first
   * row. A batch that finishes early is usually one run, so the buffer holds a few strings, not thousands of
   * small ones for the garbage collector to move around.
   */
  private readonly runs = new Map<number, { end: number; text: string }>();
  /** Every held row, to find a row added twice. */
  private readonly heldRows = new Set<number>();
  private next: number;
  private count = 0;
  private closed = false;

  private constructor(opts: ReportWriterOptions, fd: number | null, journalFd: number | null, journalPath: string | null) {
    this.opts = opts;
    this.fd = fd;
    this.stream = fd === null ? (opts.stdout ?? process.stdout) : null;
    this.sink = new ByteSink(fd, this.stream);
    this.journalFd = journalFd;
    this.journalPath = journalPath;
    this.inputColumns = [...opts.inputColumns];
    this.targetJson = opts.target === undefined ? '' : `,"target":${JSON.stringify(opts.target)}`;
    this.targetBytes = utf8(this.targetJson);
    this.targetInputBytes = utf8(`${this.targetJson},"input":`);
    this.targetCell = utf8(`,${csvCell(opts.target, true)}`);
    this.next = opts.firstRow ?? 1;
  }

  static async open(opts: ReportWriterOptions): Promise<ReportWriter> {
    const toStdout = opts.path === '-';
    let fd: number | null = null;
    let journalFd: number | null = null;
    const journalPath = !toStdout && (opts.journal ?? true) ? `${opts.path}.journal` : null;
    try {
      if (!toStdout) fd = fs.openSync(opts.path, 'w');
      if (journalPath) journalFd = fs.openSync(journalPath, 'w');
    } catch (err) {
      if (fd !== null) fs.closeSync(fd);
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(
        `cannot write the report ${opts.path}: ${e.code ?? e.message}`,
        'check that the folder exists and is writable, or choose another path with --report',
      );
    }
    const w = new ReportWriter(opts, fd, journalFd, journalPath);
    if (opts.format === 'csv') w.out(csvLine(reportHeader(opts.inputColumns), true));
    else if (opts.format === 'json') w.out('[');
    return w;
  }

  /** Rows held back waiting for an earlier row. */
  get buffered(): number {
    return this.heldRows.size;
  }

  /** Rows written to the report so far. */
  get written(): number {
    return this.count;
  }

  /**
   * Outcomes in any order (a batch finishes when it finishes). Rows that are next in line go to the report
   * at once; the others wait in the reorder buffer and go to the journal at once. One write per file.
   *
   * `lazy`: for rows the tool settled without the server (invalid, unsent, dry run). Losing them in a crash is
   * harmless — --resume treats a row missing from the report as not done — so they are collected and written
   * 64 KB at a time (with the next durable add, or at finish/close) and never journaled: a dry run of a
   * million rows makes ~1,000 writes instead of a million.
   */
  add(outcomes: RowOutcome[], lazy = false): void {
    if (this.closed) throw new Error('report writer: add() after finish/close');
    if (outcomes.length === 0) return;
    this.check(outcomes);
    let waiting: { row: number; text: string; o: RowOutcome }[] | null = null;
    for (const o of outcomes) {
      if (o.row === this.next) {
        this.put(o);
        this.next++;
        this.count++;
        if (this.runs.size > 0) this.drain();
      } else {
        (waiting ??= []).push({ row: o.row, text: this.render(o), o });
      }
    }
    if (waiting) {
      this.hold(waiting);
      this.drain(); // a row of this same add() may have been the one they waited for
    }
    // One write per file. A row written to the report is on disk now; a row still held goes to the journal.
    if (lazy) {
      if (this.sink.size >= LAZY_FLUSH) this.sink.flush();
      return;
    }
    this.sink.flush();
    if (this.journalFd !== null && waiting) {
      let j = '';
      for (const w of waiting) if (w.row >= this.next) j += journalLine(w.o) + '\n';
      if (j) fs.writeSync(this.journalFd, j);
    }
  }

  /** Puts rows into the reorder buffer, consecutive rows joined into one run. */
  private hold(rows: { row: number; text: string }[]): void {
    rows.sort((a, b) => a.row - b.row);
    let i = 0;
    while (i < rows.length) {
      const start = rows[i]!.row;
      let j = i + 1;
      while (j < rows.length && rows[j]!.row === rows[j - 1]!.row + 1) j++;
      let text = '';
      for (let k = i; k < j; k++) {
        text += rows[k]!.text;
        this.heldRows.add(rows[k]!.row);
      }
      this.runs.set(start, { end: rows[j - 1]!.row, text });
      i = j;
    }
  }

  /** Moves the runs that are now next in line from the buffer to the report. */
  private drain(): void {
    for (let run = this.runs.get(this.next); run; run = this.runs.get(this.next)) {
      this.runs.delete(this.next);
      this.sink.put(run.text);
      for (let r = this.next; r <= run.end; r++) this.heldRows.delete(r);
      this.count += run.end - this.next + 1;
      this.next = run.end + 1;
    }
  }

  /** Every row must be present exactly once, at or after the next row to write. Throws before writing anything. */
  private check(outcomes: RowOutcome[]): void {
    const first = this.opts.firstRow ?? 1;
    let prev = 0;
    let increasing = true;
    for (const o of outcomes) {
      const r = o.row;
      if (!Number.isInteger(r) || r < first) throw new Error(`report writer: bad row number ${String(r)}`);
      if (!STATUS_SET.has(o.status)) throw new Error(`report writer: row ${r} has unknown status ${String(o.status)}`);
      if (r < this.next || this.heldRows.has(r)) throw new Error(`report writer: row ${r} added twice`);
      if (r <= prev) increasing = false;
      prev = r;
    }
    // Batches usually come in row order; only an unordered one needs a set to find a repeat within it.
    if (!increasing) {
      const seen = new Set<number>();
      for (const o of outcomes) {
        if (seen.has(o.row)) throw new Error(`report writer: row ${o.row} added twice`);
        seen.add(o.row);
      }
    }
  }

  /** One CSV line. Cells are joined once: `line +=` per cell made a string node per cell, a million rows over. */
  private renderCsv(o: RowOutcome): string {
    const cols = this.inputColumns;
    const v = o.values;
    const own = REPORT_COLUMNS.length;
    const cells = new Array<string>(own + cols.length);
    cells[0] = String(o.row);
    cells[1] = o.status;
    for (let i = 2; i < own; i++) cells[i] = csvCell(columnValue(o, REPORT_COLUMNS[i]!, this.opts.target), true);
    for (let i = 0; i < cols.length; i++) cells[own + i] = v ? csvCell(v[cols[i]!], true) : '';
    return cells.join(',') + '\n';
  }

  /**
   * A JSON / NDJSON line in its pieces: what goes before it (JSON: "\n" before the first object, ",\n" before the
   * others; NDJSON: nothing), the outcome without its input, the input's JSON text (none: no `input` key), and its
   * end. The input's text is the record's own when the reader kept it (RowOutcome.valuesJson), so a row read from
   * JSON is not serialised again: the same object, as the input wrote it.
   */
  private jsonBefore(o: RowOutcome): string {
    if (this.opts.format === 'ndjson') return '';
    return o.row === (this.opts.firstRow ?? 1) ? '\n' : ',\n';
  }

  private jsonEnd(): string {
    return this.opts.format === 'ndjson' ? '}\n' : '}';
  }

  private static inputJson(o: RowOutcome): string | undefined {
    if (o.values === undefined) return undefined;
    return o.valuesJson ?? JSON.stringify(o.values);
  }

  /** A row's text, for the reorder buffer. */
  private render(o: RowOutcome): string {
    if (this.opts.format === 'csv') return this.renderCsv(o);
    const input = ReportWriter.inputJson(o);
    return this.jsonBefore(o) + outcomeHead(o) + this.targetJson + (input === undefined ? '' : `,"input":${input}`) + this.jsonEnd();
  }

  /** A row next in line, straight into the report's bytes (the same text as render(), not made into one string). */
  private put(o: RowOutcome): void {
    const sink = this.sink;
    if (this.opts.format === 'csv') {
      if (isPlain(o)) putCsvPlain(sink, o, this.csvMiddles, this.targetCell, this.inputColumns);
      else sink.put(this.renderCsv(o));
      return;
    }
    const format = this.opts.format;
    if (format === 'json') sink.put(this.jsonBefore(o));
    putHead(sink, o, this.middles);
    const input = ReportWriter.inputJson(o);
    if (input !== undefined) {
      sink.putBytes(this.targetInputBytes);
      sink.put(input);
    } else {
      sink.putBytes(this.targetBytes);
    }
    sink.putBytes(format === 'ndjson' ? LINE_END.ndjson : LINE_END.json);
  }

  /** Writes the lazy rows not yet written, then `text`. */
  private out(text: string): void {
    if (text !== '') this.sink.put(text);
    this.sink.flush();
  }

  /**
   * Completes the report: every row firstRow..N must have been added (N = the highest row added, or
   * firstRow + expectedRows - 1 when given). Otherwise it closes what it has, keeps the journal and throws
   * naming the first missing row.
   */
  async finish(expectedRows?: number): Promise<void> {
    if (this.closed) throw new Error('report writer: finish() after finish/close');
    const first = this.opts.firstRow ?? 1;
    let missing: number | null = null;
    if (this.heldRows.size > 0) missing = this.next;
    else if (expectedRows !== undefined && this.next < first + expectedRows) missing = this.next;
    if (missing !== null) {
      await this.close();
      throw new Error(`report incomplete: row ${missing} was never reported (the journal ${this.journalPath ?? ''} keeps what finished)`);
    }
    await this.end(true);
    if (this.journalPath) fs.rmSync(this.journalPath, { force: true });
  }

  /**
   * For a crash path: writes the in-order rows, then the held rows in row order (the report stays sorted,
   * with gaps where rows never finished, so it holds every finished row), closes, keeps the journal.
   * Safe to call more than once and after finish().
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.runs.size > 0) {
      const starts = [...this.runs.keys()].sort((a, b) => a - b);
      let text = '';
      for (const start of starts) {
        const run = this.runs.get(start)!;
        let t = run.text;
        // A held JSON record was rendered with "," as if its predecessor existed: not so for the first one.
        if (this.opts.format === 'json' && this.count === 0 && t.startsWith(',')) t = t.slice(1);
        text += t;
        this.count += run.end - start + 1;
      }
      this.runs.clear();
      this.heldRows.clear();
      this.out(text);
    }
    await this.end(false);
  }

  private async end(complete: boolean): Promise<void> {
    this.closed = true;
    this.out(this.opts.format === 'json' ? '\n]\n' : ''); // with the lazy rows not written yet
    if (this.fd !== null) {
      if (complete && (this.opts.durable ?? true)) fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
    } else {
      // Wait until the stream has taken everything; stdout is the caller's, never ended here.
      await new Promise<void>((resolve) => this.stream!.write('', () => resolve()));
    }
    if (this.journalFd !== null) {
      fs.closeSync(this.journalFd);
      this.journalFd = null;
    }
  }
}

/** `<folder>/<input name without extension>.<command>`; stdin ('-') → `<current folder>/stdin.<command>`. */
function stem(inputFile: string, command: string): string {
  if (inputFile === '-' || inputFile === '') return path.join(process.cwd(), `stdin.${command}`);
  const p = path.parse(inputFile);
  return path.join(p.dir, `${p.name}.${command}`);
}

/** `20261202-073612`: the local time, to the second. */
function stamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/**
 * Default report (or plan) path, next to the input, with the time of the run in it so that runs never replace each
 * other's records: switches.csv → `switches.create-inst.20261202-073612.report.csv` (a plan: `….plan.csv`); stdin →
 * `stdin.<command>.<time>.report.<ext>` in the current folder. {@link claimPath} makes it unique.
 */
export function defaultReportPath(inputFile: string, command: string, format: ReportFormat, now = new Date(), kind: 'report' | 'plan' = 'report'): string {
  return `${stem(inputFile, command)}.${stamp(now)}.${kind}.${format}`;
}

/** The link to the newest report of this input and command: `switches.create-inst.latest.report.csv`. */
export function latestReportLink(inputFile: string, command: string, format: ReportFormat): string {
  return `${stem(inputFile, command)}.latest.report.${format}`;
}

/**
 * Creates `wanted` (empty) if no file has that name, else `…-2.report.csv`, `…-3.report.csv` — the first free one.
 * Creating it exclusively is what makes two runs started in the same second get two names.
 */
export function claimPath(wanted: string): string {
  const m = /^(.*)(\.(?:report|plan)\.[^.]+)$/.exec(wanted);
  const [head, tail] = m ? [m[1]!, m[2]!] : [wanted, ''];
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? wanted : `${head}-${n}${tail}`;
    try {
      fs.closeSync(fs.openSync(candidate, 'wx', 0o644));
      return candidate;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') {
        throw new UsageError(`cannot write the report ${candidate}: ${e.code ?? e.message}`, 'check that the folder exists and is writable, or choose another path with --report');
      }
    }
  }
}

/**
 * Points `link` at `target` (a relative symbolic link, replaced in one step). Returns why it could not, or null:
 * the link is a convenience, the run goes on without it.
 */
export function pointLink(link: string, target: string): string | null {
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    // A real file by that name (a report someone copied there) is not ours to replace.
    if (fs.lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() === false) return 'a file that is not a link has that name';
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(path.relative(path.dirname(link), target), tmp);
    fs.renameSync(tmp, link);
    return null;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** Where a dry run with `--report <path>` writes its plan: `x.report.csv` → `x.plan.csv`, `x.csv` → `x.plan.csv`. */
export function planPath(reportPath: string): string {
  if (reportPath === '-') return reportPath;
  if (/\.report\.[^./\\]+$/.test(reportPath)) return reportPath.replace(/\.report(\.[^./\\]+)$/, '.plan$1');
  const ext = path.extname(reportPath);
  return ext ? `${reportPath.slice(0, -ext.length)}.plan${ext}` : `${reportPath}.plan`;
}
