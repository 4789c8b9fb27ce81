/**
 * Reading an earlier report back, for --resume (copy the ok rows, send the rest) and --retry-failed
 * (send only the rows that are not ok).
 *
 * The report may be cut off by a crash (a JSON array without its "]", a last line half written); its
 * `<report>.journal`, when present, holds every outcome that finished and wins over the report.
 * Memory stays small for millions of rows: statuses live in a Uint8Array indexed by row, ok rows keep their
 * id (and detail, which is rare), and rows that are not ok keep their error only within a fixed budget
 * (so --retry-failed can carry an invalid row over with its reason).
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { RowOutcome, RowStatus, StatusCounts } from '../core/types.js';
import { ROW_STATUSES } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import { unneutralise } from './csv.js';
import { parseFingerprint } from './fingerprint.js';

export interface PriorReport {
  statusOf(row: number): RowStatus | undefined;
  /**
   * The outcome of an ok row ({row, status, id?, detail?}); for a row that is not ok {row, status, error_code?,
   * error?} while the error budget lasts (the first ERROR_BUDGET_CHARS characters of messages), then undefined.
   */
  outcome(row: number): RowOutcome | undefined;
  /** How many distinct rows have a status. */
  rows: number;
  /** The highest row number seen (0 when none). */
  maxRow: number;
  counts: StatusCounts;
  /** Whether the report carries a fingerprint per row (reports of versions before 0.2 do not). */
  fingerprinted: boolean;
  /** The fingerprint of the input the report holds for `row` (fingerprint.ts). */
  fingerprintOf(row: number): number | undefined;
  /** Rows of the report whose input has this fingerprint, in row order. */
  rowsWith(fingerprint: number): number[];
}

// Status codes in the Uint8Array; 0 = no status for this row.
const CODE: Record<RowStatus, number> = { ok: 1, failed: 2, invalid: 3, unsent: 4, unchanged: 5 };
const STATUS_OF_CODE: (RowStatus | undefined)[] = [undefined, 'ok', 'failed', 'invalid', 'unsent', 'unchanged'];
const STATUS_SET = new Set<string>(ROW_STATUSES);
/** Characters of error messages kept for rows that are not ok (about 16 MB). */
export const ERROR_BUDGET_CHARS = 8_000_000;

class Store {
  status = new Uint8Array(1024);
  hashes = new Uint32Array(1024);
  fingerprinted = false;
  /** Rows that are a dry run's ("unsent" with the detail "dry run"): the file is a plan, not a report. */
  dryRunRows = 0;
  ids: (string | number | undefined)[] = [];
  details = new Map<number, string>();
  errors = new Map<number, { code?: string | number; error: string }>();
  errorChars = 0;
  maxRow = 0;

  set(row: number, status: RowStatus, id: unknown, detail: unknown, code?: unknown, error?: unknown, fingerprint?: unknown): void {
    if (row >= this.status.length) {
      let n = this.status.length;
      while (n <= row) n *= 2;
      const bigger = new Uint8Array(n);
      bigger.set(this.status);
      this.status = bigger;
      const hashes = new Uint32Array(n);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.status[row] = CODE[status];
    if (status === 'unsent' && typeof detail === 'string' && /(^|; )dry run$/.test(detail)) this.dryRunRows++;
    if (row > this.maxRow) this.maxRow = row;
    const hash = parseFingerprint(fingerprint);
    if (hash !== undefined) {
      this.hashes[row] = hash;
      this.fingerprinted = true;
    }
    // Later entries win: clear what an earlier entry for this row left.
    if (status === 'ok' && (typeof id === 'string' || typeof id === 'number') && id !== '') this.ids[row] = id;
    else if (this.ids[row] !== undefined) this.ids[row] = undefined;
    if (status === 'ok' && typeof detail === 'string' && detail !== '') this.details.set(row, detail);
    else this.details.delete(row);
    if (status !== 'ok' && typeof error === 'string' && error !== '' && this.errorChars + error.length <= ERROR_BUDGET_CHARS) {
      const e: { code?: string | number; error: string } = { error };
      if ((typeof code === 'string' && code !== '') || typeof code === 'number') e.code = code;
      this.errors.set(row, e);
      this.errorChars += error.length;
    } else this.errors.delete(row);
  }
}

/** A line number and what was wrong with it, thrown only if a good record follows (else it is a cut-off tail). */
interface Bad {
  where: string;
  why: string;
}

function badError(file: string, bad: Bad): UsageError {
  return new UsageError(
    `${file} is not a readable cmdb-bulk report: ${bad.where}: ${bad.why}`,
    'pass the report a previous run wrote (csv, json or ndjson, unchanged)',
  );
}

function validRow(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : null;
}

/** Reads a report written as NDJSON, a JSON array with one object per line, or a journal. */
async function readJsonLines(file: string, store: Store): Promise<void> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let bad: Bad | null = null;
  for await (const raw of rl) {
    lineNo++;
    let t = raw.trim();
    if (lineNo === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1).trim();
    if (t === '' || t === '[' || t === ']') continue;
    if (t.startsWith(',')) t = t.slice(1);
    if (t.endsWith(',')) t = t.slice(0, -1);
    if (bad) throw badError(file, bad);
    // The report's own keys come before "input" (the source row, often the bulk of the line), which is not
    // needed here: parse only the head. `,"input":` cannot occur inside a string value (quotes are escaped there).
    const cut = t.indexOf(',"input":');
    if (cut > 0) t = t.slice(0, cut) + '}';
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(t) as Record<string, unknown>;
    } catch (err) {
      bad = { where: `line ${lineNo}`, why: (err as Error).message };
      continue;
    }
    const row = rec && typeof rec === 'object' ? validRow(rec.row) : null;
    const status = rec && typeof rec === 'object' ? rec.status : undefined;
    if (row === null || typeof status !== 'string' || !STATUS_SET.has(status)) {
      bad = { where: `line ${lineNo}`, why: 'expected {"row": <number>, "status": "ok|failed|invalid|unsent|unchanged", ...}' };
      continue;
    }
    store.set(row, status as RowStatus, rec.id, rec.detail, rec.error_code, rec.error, rec.fingerprint);
  }
}

/** Reads a CSV report: the columns row, status, id, detail are found by name in the header. */
async function readCsv(file: string, store: Store): Promise<void> {
  // Loaded here, not at start-up: most runs read no earlier report (the input has its own scanner).
  const { parse } = await import('csv-parse');
  const parser = fs.createReadStream(file).pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true }));
  let cols: { row: number; status: number; id: number; detail: number; code: number; error: number; fingerprint: number } | null = null;
  let recNo = 0;
  let bad: Bad | null = null;
  try {
    for await (const rec of parser as AsyncIterable<string[]>) {
      recNo++;
      if (!cols) {
        const at = (name: string) => rec.indexOf(name);
        cols = { row: at('row'), status: at('status'), id: at('id'), detail: at('detail'), code: at('error_code'), error: at('error'), fingerprint: at('fingerprint') };
        if (cols.row < 0 || cols.status < 0) {
          throw badError(file, { where: 'header', why: 'no "row" and "status" columns' });
        }
        continue;
      }
      if (bad) throw badError(file, bad);
      const row = validRow(rec[cols.row]);
      const status = rec[cols.status];
      if (row === null || status === undefined || !STATUS_SET.has(status)) {
        bad = { where: `record ${recNo - 1}`, why: 'no valid row number and status' };
        continue;
      }
      let id: string | number | undefined = cols.id >= 0 ? unneutralise(rec[cols.id] ?? '') : undefined;
      // CSV has no types: a whole number that fits is a CMDB id, kept as a number.
      if (typeof id === 'string' && /^-?\d{1,15}$/.test(id)) id = Number(id);
      const detail = cols.detail >= 0 ? unneutralise(rec[cols.detail] ?? '') : undefined;
      let code: string | number | undefined = cols.code >= 0 ? unneutralise(rec[cols.code] ?? '') : undefined;
      if (typeof code === 'string' && /^-?\d{1,15}$/.test(code)) code = Number(code);
      const error = cols.error >= 0 ? unneutralise(rec[cols.error] ?? '') : undefined;
      store.set(row, status as RowStatus, id, detail, code, error, cols.fingerprint >= 0 ? rec[cols.fingerprint] : undefined);
    }
  } catch (err) {
    // A quote left open at the end of the file is a record cut off by a crash: what came before stands.
    if ((err as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED') return;
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${file} is not a readable CSV report: ${(err as Error).message}`);
  }
}

/** 'json' | 'ndjson' | 'csv' | 'empty', from the first non-blank character. */
function sniff(file: string): 'json' | 'csv' | 'empty' {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (head === '') return 'empty';
    return head[0] === '[' || head[0] === '{' ? 'json' : 'csv';
  } finally {
    fs.closeSync(fd);
  }
}

export async function readPriorReport(path: string): Promise<PriorReport> {
  const journal = `${path}.journal`;
  const hasReport = fs.existsSync(path);
  const hasJournal = fs.existsSync(journal);
  if (!hasReport && !hasJournal) {
    throw new UsageError(`cannot read the report ${path}: no such file`, 'pass the report written by the earlier run');
  }
  const store = new Store();
  try {
    if (hasReport) {
      const kind = sniff(path);
      if (kind === 'json') await readJsonLines(path, store);
      else if (kind === 'csv') await readCsv(path, store);
    }
    if (hasJournal) await readJsonLines(journal, store);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot read the report ${path}: ${e.code ?? e.message}`);
  }
  if (store.dryRunRows > 0) {
    throw new UsageError(`${path} is the plan of a dry run (nothing was sent for its rows), not the report of a run`, 'pass the report the run that sent the rows wrote (the newest is <input>.<command>.latest.report.<ext>)');
  }

  const counts: StatusCounts = { ok: 0, failed: 0, invalid: 0, unsent: 0, unchanged: 0 };
  let rows = 0;
  const st = store.status;
  for (let r = 1; r <= store.maxRow; r++) {
    const s = STATUS_OF_CODE[st[r]!];
    if (s) {
      counts[s]++;
      rows++;
    }
  }
  const okOutcome = (row: number): RowOutcome => {
    const o: RowOutcome = { row, status: 'ok' };
    const id = store.ids[row];
    if (id !== undefined) o.id = id;
    const detail = store.details.get(row);
    if (detail !== undefined) o.detail = detail;
    return o;
  };
  const statusOf = (row: number): RowStatus | undefined =>
    Number.isInteger(row) && row >= 1 && row < st.length ? STATUS_OF_CODE[st[row]!] : undefined;
  let index: number[] | undefined;
  /** Rows with a status, sorted by fingerprint (then row): built on the first look-up by content only. */
  const byHash = (): number[] => {
    if (!index) {
      const h = store.hashes;
      index = [];
      for (let r = 1; r <= store.maxRow; r++) if (st[r]) index.push(r);
      index.sort((a, b) => h[a]! - h[b]! || a - b);
    }
    return index;
  };
  return {
    rows,
    maxRow: store.maxRow,
    counts,
    statusOf,
    fingerprinted: store.fingerprinted,
    fingerprintOf: (row) => (statusOf(row) !== undefined && store.fingerprinted ? store.hashes[row] : undefined),
    rowsWith(hash: number): number[] {
      const idx = byHash();
      const h = store.hashes;
      let lo = 0;
      let hi = idx.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (h[idx[mid]!]! < hash) lo = mid + 1;
        else hi = mid;
      }
      const out: number[] = [];
      for (let i = lo; i < idx.length && h[idx[i]!] === hash; i++) out.push(idx[i]!);
      return out;
    },
    outcome(row: number): RowOutcome | undefined {
      const status = statusOf(row);
      if (status === undefined) return undefined;
      const o: RowOutcome = { row, status };
      if (status !== 'ok') {
        const e = store.errors.get(row);
        if (!e) return undefined;
        if (e.code !== undefined) o.error_code = e.code;
        o.error = e.error;
        return o;
      }
      return okOutcome(row);
    },
  };
}
