/**
 * The pipeline: read → check → batch → send → report, for any operation.
 *
 * Pass 1 reads the whole input and checks every row (nothing is sent): a file with invalid rows stops here with
 * exit 2 unless --skip-invalid. Pass 2 reads the input again, checks each row again (cheap, and it keeps memory
 * flat: nothing per row survives pass 1), batches the good rows and sends them with at most `concurrency` batches
 * in flight; each outcome goes to the report as its batch finishes.
 */
import { setMaxListeners } from 'node:events';
import { renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AuthError, CliError, EXIT, UnreachableError, UsageError, type ExitCode } from '../core/errors.js';
import type { InputRecord, ReportFormat, RowOutcome, RowStatus } from '../core/types.js';
import { normalizeDelimiter, openInput, type InputSource, type OpenInputOptions } from '../input/index.js';
import type { CmdbApi } from '../http/cmdb.js';
import type { FeishuApi } from '../http/feishu.js';
import { AmbiguousWriteError, RetriesExhaustedError } from '../http/sender.js';
import type { CheckedRow, Operation, OperationOptions, RowResult, Session } from '../operations/types.js';
import { FailedRowsWriter } from '../report/failed-file.js';
import { readPriorReport, type PriorReport } from '../report/prior.js';
import { ErrorGroups, type RunSummary } from '../report/summary.js';
import { defaultReportPath, ReportWriter } from '../report/writer.js';
import { joinErrors } from '../schema/rows.js';
import type { Progress } from '../ui/progress.js';
import { InflightLog, inflightPath, resumingPath } from './inflight.js';
import { Slots } from './pool.js';

export interface Connection {
  cmdb?: CmdbApi;
  feishu?: FeishuApi;
  stats(): { requests: number; retries: number; rateLimited: number; rateLimitWaitMs: number };
  close(): Promise<void>;
}

export interface RunOptions {
  operation: Operation;
  input: OpenInputOptions;
  opOptions: OperationOptions;
  /** null: no report file (never used by the CLI; for library callers). */
  report: { path?: string; format: ReportFormat } | null;
  failedPath?: string;
  dryRun: boolean;
  skipInvalid: boolean;
  batchSize?: number;
  concurrency: number;
  resume?: string;
  retryFailed?: string;
  /** Opens the server connection; not called for a dry run with --no-schema. */
  connect(): Promise<Connection>;
  info(line: string): void;
  warn(line: string): void;
  progress: Progress;
  /** Aborted on the first Ctrl-C: no new batches. */
  stop: AbortSignal;
  /** Aborted on the second Ctrl-C: in-flight requests are abandoned. */
  kill: AbortSignal;
  now?: () => number;
}

export interface RunResult {
  summary: RunSummary;
  exitCode: ExitCode;
}

const MAX_LISTED_PROBLEMS = 20;
const RESOLVE_CHUNK = 500;
const OUTCOME_UNKNOWN = 'outcome_unknown';

export async function runOperation(o: RunOptions): Promise<RunResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const op = o.operation;
  const source = await openInput(o.input);
  let conn: Connection | undefined;
  try {
    if (source.sheet) o.info(sheetLine(source));
    const batchSize = o.batchSize ?? op.defaultBatch;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a positive whole number, got ${o.batchSize}`);
    if (op.maxBatch !== null && batchSize > op.maxBatch) {
      throw new UsageError(`--batch-size ${batchSize} is over the limit of ${op.api} (${op.maxBatch} rows a request)`, `use --batch-size ${op.maxBatch} or less`);
    }
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 64) throw new UsageError(`--concurrency must be a whole number from 1 to 64, got ${o.concurrency}`);
    // Every request in flight listens on these signals (client, limiter, retry sleep): at --concurrency 16 Node
    // warned of a "possible memory leak". Allow what the concurrency needs; a real leak still warns.
    setMaxListeners(Math.max(10, o.concurrency * 4 + 10), o.kill, o.stop);
    if (o.resume && o.retryFailed) throw new UsageError('--resume and --retry-failed cannot be used together');

    // Writing the report or the --failed file over the input would destroy it while it is read (twice).
    const outputs = [['--report', o.report?.path], [o.resume ? '--resume' : '--retry-failed', o.resume ?? o.retryFailed], ['--failed', o.failedPath]];
    for (const [flag, out] of outputs) {
      if (out && sameFile(out, source.path)) throw new UsageError(`${flag} ${out} is the input file: the report would overwrite it`, `give ${flag} another path`);
    }

    const priorPath = o.resume ?? o.retryFailed;
    const prior = priorPath ? await readPriorReport(priorPath) : undefined;
    const priorInflight = priorPath ? InflightLog.read(inflightPath(priorPath)) : new Set<number>();
    const resumedInflight = priorPath ? InflightLog.read(inflightPath(resumingPath(priorPath))) : new Set<number>();

    // A dry run needs the server only to read a CMDB model's attributes or resolve keys; Feishu objects have no schema here.
    const needServer = !(o.dryRun && (o.opOptions.noSchema || (op.service === 'feishu' && !o.opOptions.key)));
    let session: Session;
    // Set when the server could not be reached, or refused the credentials, before a single row was sent: the
    // rows are still read and each one reported (unsent, or as the earlier report has it), so nothing is lost.
    let setupError: CliError | undefined;
    try {
      conn = needServer ? await o.connect() : undefined;
      session = await op.setup({
        cmdb: conn?.cmdb,
        feishu: conn?.feishu,
        options: o.opOptions,
        source,
        info: o.info,
        signal: o.kill,
      });
    } catch (e) {
      if (!(e instanceof CliError) || e instanceof UsageError || !o.report || o.dryRun) throw e;
      setupError = e;
      session = unchecked(e);
    }
    if (source.columns && !setupError) {
      const problems = session.checkColumns(source.columns);
      if (problems.length) {
        throw new UsageError(
          `${source.file}: the header has problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
          'fix the header: use the field ids (or display names) of the model',
        );
      }
    }

    // ---- pass 1: check everything, send nothing
    const plan = await checkAll(source, session, prior, o);
    if (plan.total === 0) throw setupError ?? new UsageError(`${source.file}: no rows to send`, 'the file has a header but no data rows');

    let reportPath = o.report ? (o.report.path ?? priorPath ?? defaultReportPath(o.input.file, op.command, o.report.format)) : null;
    // A dry run never replaces the earlier report: its outcomes (and "outcome unknown" marks) are still needed.
    if (o.dryRun && priorPath && reportPath && resolve(reportPath) === resolve(priorPath)) {
      o.info(`dry run: the earlier report ${priorPath} is left as it is (no new report)`);
      reportPath = null;
    }
    const blockedByInvalid = plan.invalid > 0 && !o.skipInvalid && !setupError;
    if (blockedByInvalid) {
      o.warn(invalidMessage(source, plan));
    }
    if (o.dryRun) {
      for (const line of describePlan(op, session, plan, batchSize, o.concurrency)) o.info(line);
    }

    // ---- pass 2: send (or, for a dry run or a blocked file, write the report without sending)
    const send = !o.dryRun && !blockedByInvalid && !setupError;
    const state = await sendAll({ o, op, session, source, prior, priorPath, priorInflight, resumedInflight, batchSize, reportPath, send, notSent: setupError, columns: plan.columns, total: plan.total });

    const c = state.counts;
    const fatal = setupError ?? state.fatal;
    let exitCode: ExitCode =
      fatal?.exitCode ?? (state.interrupted ? EXIT.INTERRUPTED : blockedByInvalid ? EXIT.USAGE : c.failed + c.invalid + c.unsent > 0 && send ? EXIT.PARTIAL : EXIT.OK);
    if (o.dryRun && !blockedByInvalid) exitCode = EXIT.OK;
    const stats = conn?.stats() ?? { requests: 0, retries: 0, rateLimited: 0, rateLimitWaitMs: 0 };
    const summary: RunSummary = {
      command: op.command,
      // Every row is recorded once in pass 2; pass 1 may have stopped early (Ctrl-C while checking).
      total: c.ok + c.failed + c.invalid + c.unsent,
      ok: c.ok,
      failed: c.failed,
      invalid: c.invalid,
      unsent: c.unsent,
      requests: stats.requests,
      retries: stats.retries,
      duration_ms: now() - started,
      report: reportPath,
      exit_code: exitCode,
      dry_run: o.dryRun || undefined,
      batches: o.dryRun ? plannedBatches(plan, batchSize) : state.batches,
      splits: state.splits,
      rate_limited: stats.rateLimited,
      rate_limit_wait_ms: Math.round(stats.rateLimitWaitMs),
      already_existed: state.alreadyExisted,
      outcome_unknown: state.outcomeUnknown,
      resumed_ok: state.carried || undefined,
      failed_file: o.failedPath ?? null,
      error: fatal
        ? withHint(fatal)
        : state.interrupted
          ? 'interrupted: rows not finished are reported unsent; run again with --resume <report> to finish'
          : blockedByInvalid
            ? `${plan.invalid} invalid row(s): nothing was sent (fix them, or use --skip-invalid to send the valid rows)`
            : null,
      groups: state.groups.list(10),
    };
    return { summary, exitCode };
  } finally {
    await source.close();
    await conn?.close();
  }
}

/** Which sheet of a workbook is read, and how: the first thing to check when nothing matches. */
function sheetLine(source: InputSource): string {
  const { name, layout } = source.sheet!;
  const how = layout === 'cmdb' ? `CMDB's layout: field ids from row 3, data from row ${source.firstRow}` : `header in row ${source.firstRow - 1}`;
  return `${source.file}: sheet "${name}" (${how})`;
}

/** Do two paths name the same existing file (also through links)? */
function sameFile(a: string, b: string): boolean {
  if (a === '-' || b === '-') return false;
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** The error of a run that stopped, with its hint (what to do), for the summary. */
function withHint(e: CliError): string {
  return e.hint ? `${e.message}\n${e.hint}` : e.message;
}

/** A stand-in session when setup failed: it only reads rows (to report each one); nothing can be sent. */
function unchecked(e: CliError): Session {
  return {
    checkColumns: () => [],
    check: (rec) => ({ row: rec.row, values: rec.values, payload: {}, group: '', errors: rec.error ? [{ message: rec.error }] : [] }),
    send: () => Promise.reject(e),
  };
}

/** error_code for rows a stopped run did not send. */
function stopCode(e: CliError): string {
  return e instanceof AuthError || e.exitCode === EXIT.AUTH ? 'auth' : e instanceof UnreachableError ? 'unreachable' : 'stopped';
}

interface Plan {
  total: number;
  invalid: number;
  valid: number;
  skipped: number;
  problems: Array<{ row: number; message: string }>;
  groups: Map<string, number>;
  columns: string[];
}

async function checkAll(source: InputSource, session: Session, prior: PriorReport | undefined, o: RunOptions): Promise<Plan> {
  const plan: Plan = { total: 0, invalid: 0, valid: 0, skipped: 0, problems: [], groups: new Map(), columns: source.columns ?? [] };
  const seen = source.columns ? null : new Set<string>();
  let chunk: CheckedRow[] = [];
  const tally = async () => {
    if (session.resolve && chunk.length) await session.resolve(chunk);
    for (const r of chunk) {
      if (r.errors.length) {
        plan.invalid++;
        if (plan.problems.length < MAX_LISTED_PROBLEMS) plan.problems.push({ row: r.row, message: joinErrors(r.errors) });
      } else {
        plan.valid++;
        plan.groups.set(r.group, (plan.groups.get(r.group) ?? 0) + 1);
      }
    }
    chunk = [];
  };
  // Records come a read chunk at a time: one await per chunk, not per row.
  read: for await (const batch of source.batches()) {
    for (const rec of batch) {
      if (o.stop.aborted) break read;
      plan.total++;
      if (seen && seen.size < 1000) for (const k in rec.values) seen.add(k);
      if (skipByPrior(prior, rec.row, o)) {
        plan.skipped++;
        continue;
      }
      chunk.push(session.check(rec));
      if (chunk.length >= RESOLVE_CHUNK) await tally();
    }
  }
  await tally();
  if (seen) plan.columns = [...seen];
  return plan;
}

/** --resume skips the rows the earlier report has as ok; --retry-failed also skips its invalid rows. */
function skipByPrior(prior: PriorReport | undefined, row: number, o: RunOptions): boolean {
  if (!prior) return false;
  const s = prior.statusOf(row);
  if (s === 'ok') return true;
  return !!o.retryFailed && s !== 'failed' && s !== 'unsent';
}

function invalidMessage(source: InputSource, plan: Plan): string {
  const lines = plan.problems.map((p) => `  row ${p.row}: ${p.message}`);
  const more = plan.invalid - plan.problems.length;
  return [
    `${source.file}: ${plan.invalid} of ${plan.total} rows are invalid; nothing was sent.`,
    ...lines,
    ...(more > 0 ? [`  … and ${more} more (every problem is in the report)`] : []),
    'Fix the rows, or use --skip-invalid to send the valid rows and report the others.',
  ].join('\n');
}

function plannedBatches(plan: Plan, batchSize: number): number {
  return [...plan.groups.values()].reduce((n, rows) => n + Math.ceil(rows / batchSize), 0);
}

function describePlan(op: Operation, session: Session, plan: Plan, batchSize: number, concurrency: number): string[] {
  const batches = plannedBatches(plan, batchSize);
  const lines = [
    `dry run: ${op.command} (${op.api}), nothing sent`,
    `  rows: ${plan.total} read, ${plan.valid} valid, ${plan.invalid} invalid${plan.skipped ? `, ${plan.skipped} skipped (already done in the earlier report)` : ''}`,
    `  batches: ${batches} of up to ${batchSize} rows, ${concurrency} at a time${op.atomic ? ' (all-or-nothing on the server)' : ''}`,
  ];
  if (plan.groups.size > 1 || [...plan.groups.keys()][0]) {
    for (const [g, n] of plan.groups) lines.push(`    ${g || '(default)'}: ${n} rows in ${Math.ceil(n / batchSize)} batch(es)`);
  }
  for (const l of session.describe?.() ?? []) lines.push(`  ${l}`);
  return lines;
}

// ---------------------------------------------------------------- pass 2

interface SendContext {
  o: RunOptions;
  op: Operation;
  session: Session;
  source: InputSource;
  prior: PriorReport | undefined;
  /** The earlier report's path (--resume / --retry-failed). */
  priorPath: string | undefined;
  /** Rows on the wire in the run that wrote the earlier report, when it ended without their answer. */
  priorInflight: Set<number>;
  /** Rows sent by a later --resume of that report that never finished (so the report predates their sending). */
  resumedInflight: Set<number>;
  batchSize: number;
  reportPath: string | null;
  send: boolean;
  /** Setup failed with this error: every row is reported unsent (or as the earlier report has it). */
  notSent?: CliError;
  columns: string[];
  total: number;
}

interface SendState {
  counts: Record<RowStatus, number>;
  groups: ErrorGroups;
  batches: number;
  splits: number;
  alreadyExisted: number;
  outcomeUnknown: number;
  carried: number;
  fatal?: CliError;
  interrupted: boolean;
}

/** A row waiting in a batch, and whether it must be checked on the server before it is sent (resume). */
type Pending = CheckedRow & { verify?: boolean };

async function sendAll(x: SendContext): Promise<SendState> {
  const { o, op, session, source } = x;
  const st: SendState = {
    counts: { ok: 0, failed: 0, invalid: 0, unsent: 0 },
    groups: new ErrorGroups(),
    batches: 0,
    splits: 0,
    alreadyExisted: 0,
    outcomeUnknown: 0,
    carried: 0,
    interrupted: false,
  };
  // --resume / --retry-failed into the earlier report: write beside it (report and in-flight log) and replace it
  // only once the new one is complete, so a run killed while resuming leaves the earlier report whole, and the
  // rows it sent meanwhile are known as such (resumedInflight).
  const inPlace = !!x.reportPath && !!x.priorPath && x.reportPath !== '-' && resolve(x.reportPath) === resolve(x.priorPath);
  const writePath = inPlace ? resumingPath(x.reportPath!) : x.reportPath;
  const writer = writePath
    ? await ReportWriter.open({ path: writePath, format: o.report!.format, inputColumns: x.columns, firstRow: source.firstRow })
    : undefined;
  const failedFile = o.failedPath
    ? await FailedRowsWriter.open({ path: o.failedPath, format: source.format, columns: failedColumns(source, x.columns), delimiter: normalizeDelimiter(o.input.delimiter), sheet: source.sheet?.name })
    : undefined;
  // No in-flight log for a report on stdout: nothing could --resume from it (and "-.inflight" would litter the folder).
  const inflight = x.send && !op.idempotent && writePath && writePath !== '-' ? InflightLog.open(inflightPath(writePath)) : undefined;
  const slots = new Slots(o.concurrency);
  const total = { done: 0 };
  let stopping = false;
  let finished = false;
  const window = Math.max(20_000, o.concurrency * x.batchSize * 8);
  const drained: Array<() => void> = [];

  // The bar redraws 10 times a second and CI lines come every 10-30 s, but rows settled by the tool are recorded one
  // at a time: an update per row made a dry run in a terminal half as fast again. So: when 100 rows were added or
  // 100 ms passed since the last update, and always at the start and the end.
  const clock = o.now ?? Date.now;
  let shownDone = -1;
  let shownAt = -Infinity;
  const progress = (force = false) => {
    if (!force && total.done - shownDone < 100 && clock() - shownAt < 100) return;
    shownDone = total.done;
    shownAt = clock();
    o.progress.update({ done: total.done, total: x.total, ok: st.counts.ok, failed: st.counts.failed + st.counts.invalid });
  };

  /** `lazy`: rows settled without the server (invalid, unsent): the writer may batch their writes. */
  const record = (outs: RowOutcome[], lazy = false) => {
    for (const out of outs) {
      st.counts[out.status]++;
      if (out.status !== 'ok' && out.error) st.groups.add(out);
    }
    total.done += outs.length;
    writer?.add(outs, lazy);
    if (failedFile) pendingFailed.push(...outs.filter((x) => x.status !== 'ok'));
    progress();
    if (drained.length && writer && writer.buffered < window) for (const d of drained.splice(0)) d();
  };
  // The --failed file is written in input order: keep failed outcomes until the report has written past them.
  const pendingFailed: RowOutcome[] = [];
  const flushFailed = (all: boolean) => {
    if (!failedFile) return;
    const upTo = all ? Infinity : (writer?.written ?? 0) + source.firstRow - 1;
    pendingFailed.sort((a, b) => a.row - b.row);
    let i = 0;
    while (i < pendingFailed.length && pendingFailed[i]!.row <= upTo) {
      const f = pendingFailed[i++]!;
      failedFile.add(f.values ?? {}, f.error ?? f.status);
    }
    pendingFailed.splice(0, i);
  };

  const abort = (err: CliError | 'interrupt') => {
    if (err === 'interrupt') st.interrupted = true;
    else if (!st.fatal) st.fatal = err;
    stopping = true;
    for (const d of drained.splice(0)) d();
  };
  const onStop = () => abort('interrupt');
  o.stop.addEventListener('abort', onStop);
  if (o.stop.aborted) onStop();

  const outcome = (r: CheckedRow, status: RowStatus, extra: Partial<RowOutcome> = {}): RowOutcome => ({
    row: r.row,
    status,
    values: r.values,
    ...(r.detail && !extra.detail ? { detail: r.detail } : {}),
    ...extra,
  });

  /**
   * A row this run does not send. Unsent, unless an earlier run may have created it (it was to be checked first):
   * then it stays "outcome unknown", so that the next --resume still checks it before sending it.
   */
  const notSent = (r: Pending, extra: Partial<RowOutcome>): RowOutcome => {
    if (!r.verify) return outcome(r, 'unsent', extra);
    st.outcomeUnknown++;
    return outcome(r, 'failed', { error_code: OUTCOME_UNKNOWN, error: 'an earlier run sent this row and never learnt whether it was applied; not checked yet (this run did not send): --resume checks it first' });
  };

  /** Sends one batch and records an outcome for every row of it, whatever happens. */
  async function runBatch(rows: Pending[], depth = 0): Promise<void> {
    if (rows.length === 0) return;
    if (o.kill.aborted || (stopping && depth === 0)) {
      record(rows.map((r) => notSent(r, { error: stopReason() })));
      return;
    }
    // Rows an earlier run may have created: look first, send only what is not there.
    const toVerify = rows.filter((r) => r.verify);
    if (toVerify.length && !op.idempotent) {
      const rest = await settleUnclear(toVerify, 'sent by an earlier run that ended before the answer');
      rows = rows.filter((r) => !r.verify).concat(rest);
      if (rows.length === 0) return;
    }
    st.batches++;
    inflight?.mark(rows.map((r) => r.row));
    let verdict;
    try {
      verdict = await session.send(rows, o.kill);
    } catch (e) {
      return handleSendError(rows, e, depth);
    }
    if (verdict.kind === 'rows') {
      record(rows.map((r, i) => fromResult(r, verdict.results[i])));
      return;
    }
    // The whole batch was refused.
    if (verdict.named?.length) {
      const named = new Set(verdict.named);
      record(rows.filter((_, i) => named.has(i)).map((r) => outcome(r, 'failed', { error_code: verdict.code, error: verdict.message })));
      st.splits++;
      return runBatch(rows.filter((_, i) => !named.has(i)), depth + 1);
    }
    if (verdict.splittable && rows.length > 1) {
      // Bisect: each half goes again on its own; a good half lands in one request, a bad half splits further.
      const mid = Math.ceil(rows.length / 2);
      st.splits += 2;
      await runBatch(rows.slice(0, mid), depth + 1);
      await runBatch(rows.slice(mid), depth + 1);
      return;
    }
    record(rows.map((r) => outcome(r, 'failed', { error_code: verdict.code, error: verdict.message })));
  }

  function fromResult(r: CheckedRow, res: RowResult | undefined): RowOutcome {
    if (!res) return outcome(r, 'failed', { error_code: 'protocol', error: 'the server answered fewer results than rows sent; outcome unknown' });
    if (res.ok) {
      if (res.detail === 'already exists') st.alreadyExisted++;
      // One object per row, no arrays: this runs for every row sent.
      const detail = r.detail && res.detail ? `${r.detail}; ${res.detail}` : r.detail || res.detail || undefined;
      return { row: r.row, status: 'ok', values: r.values, id: res.id, detail };
    }
    return outcome(r, 'failed', { error_code: res.code, error: res.error, detail: res.detail });
  }

  /**
   * For rows whose create may or may not have happened: ask the server which exist. Existing rows are recorded
   * ok; rows that cannot be checked are recorded failed "outcome unknown"; the rows certainly not there are
   * returned, to be sent.
   */
  async function settleUnclear(rows: Pending[], why: string): Promise<Pending[]> {
    if (!session.findExisting) {
      unknown(rows, `${why}; ${op.command} has no unique field to check by, so they were not sent again`);
      return [];
    }
    let found: (string | number | null | undefined)[];
    try {
      found = await session.findExisting(rows, o.kill);
    } catch (e) {
      unknown(rows, `${why}; checking which exist failed too (${(e as Error).message})`);
      if (e instanceof CliError) abort(e);
      return [];
    }
    const again: Pending[] = [];
    const outs: RowOutcome[] = [];
    // Two rows with the same key value: the server created the first and refused the second.
    const claimed = new Map<string | number, number>();
    rows.forEach((r, i) => {
      const f = found[i];
      if (f === null) again.push({ ...r, verify: false });
      else if (f === undefined) {
        st.outcomeUnknown++;
        outs.push(outcome(r, 'failed', { error_code: OUTCOME_UNKNOWN, error: `${why}; this row cannot be checked by ${session.uniqueKey ?? 'a unique field'} (no value, or more than one match): check it by hand before sending it again` }));
      } else if (claimed.has(f)) {
        outs.push(outcome(r, 'failed', { error_code: 'duplicate', error: `${why}; row ${claimed.get(f)} has the same ${session.uniqueKey ?? 'key'} and is the one on the server (id ${f}): this row was not created` }));
      } else {
        claimed.set(f, r.row);
        outs.push(outcome(r, 'ok', { id: f, detail: `found on the server after an unclear answer (${why})` }));
      }
    });
    if (outs.length) record(outs);
    return again;
  }

  function unknown(rows: CheckedRow[], why: string) {
    st.outcomeUnknown += rows.length;
    record(rows.map((r) => outcome(r, 'failed', { error_code: OUTCOME_UNKNOWN, error: why })));
  }

  async function handleSendError(rows: Pending[], e: unknown, depth: number): Promise<void> {
    if (e instanceof AmbiguousWriteError) {
      const rest = await settleUnclear(rows, `no clear answer (${e.message})`);
      if (rest.length && depth < 8) return runBatch(rest, depth + 1);
      if (rest.length) unknown(rest, `no clear answer after ${depth} attempts (${e.message})`);
      return;
    }
    if (e instanceof RetriesExhaustedError) {
      const msg = e.reachedServer ? `the server kept failing: ${e.lastError}` : `the server is unreachable: ${e.lastError}`;
      record(rows.map((r) => outcome(r, e.reachedServer ? 'failed' : 'unsent', { error_code: e.status ?? 'unreachable', error: msg })));
      abort(new UnreachableError(`${msg} (after the retries allowed by --retries)`, 'check the URL and the server, then run again with --resume <report>'));
      return;
    }
    if (e instanceof CliError) {
      record(rows.map((r) => outcome(r, 'unsent', { error_code: e instanceof AuthError ? 'auth' : 'stopped', error: e.message })));
      abort(e);
      return;
    }
    if (isAbort(e)) {
      // Second Ctrl-C while the request was out: we do not know what the server did.
      if (op.idempotent) record(rows.map((r) => outcome(r, 'unsent', { error: 'interrupted while the request was in flight; safe to send again' })));
      else unknown(rows, 'interrupted while the request was in flight; --resume checks these rows before sending them again');
      abort('interrupt');
      return;
    }
    throw e;
  }

  function stopReason(): string {
    if (st.fatal) return `not sent: the run stopped (${st.fatal.message.split('\n')[0]})`;
    if (st.interrupted) return 'not sent: the run was interrupted';
    return 'not sent';
  }

  // -------- the read loop
  // Show the bar (0 of total) before the first answer: a first batch held by a 429 or a slow server shows as such.
  if (x.send) progress(true);
  const inFlight = new Set<Promise<void>>();
  const buffers = new Map<string, Pending[]>();
  let failure: unknown;

  const dispatch = async (rows: Pending[]) => {
    await slots.acquire();
    while (!stopping && writer && writer.buffered >= window) await new Promise<void>((r) => drained.push(r));
    const p = runBatch(rows)
      .catch((e) => {
        failure ??= e;
        abort(new CliError(`internal error: ${(e as Error).message}`, EXIT.INTERNAL));
      })
      .finally(() => {
        slots.release();
        inFlight.delete(p);
        flushFailed(false);
      });
    inFlight.add(p);
  };

  /** Settles or buffers one row; returns the dispatch to wait for when the row filled a batch. */
  const take = (r: Pending): Promise<void> | undefined => {
    if (r.errors.length) {
      record([outcome(r, 'invalid', { error: joinErrors(r.errors) })], true);
      return;
    }
    if (x.notSent) {
      record([notSent(r, { error_code: stopCode(x.notSent), error: `not sent: ${x.notSent.message.split('\n')[0]}` })], true);
      return;
    }
    if (!x.send || stopping) {
      record([notSent(r, { detail: o.dryRun ? [r.detail, 'dry run'].filter(Boolean).join('; ') : undefined, error: o.dryRun ? undefined : x.send ? stopReason() : 'not sent: the file has invalid rows' })], true);
      return;
    }
    let buf = buffers.get(r.group);
    if (!buf) buffers.set(r.group, (buf = []));
    buf.push(r);
    if (buf.length >= x.batchSize) {
      buffers.delete(r.group);
      return dispatch(buf);
    }
    return undefined;
  };

  try {
    let chunk: Pending[] = [];
    const flushChunk = async () => {
      if (session.resolve && chunk.length) {
        // Every row, invalid ones too, so that each report row lists all its problems (answers are cached from pass 1).
        if (!stopping) await session.resolve(chunk);
      }
      for (const r of chunk) await take(r);
      chunk = [];
    };
    // Records come a read chunk at a time: one await per chunk, and one per full batch, not one per row.
    for await (const batch of source.batches()) {
      for (const rec of batch) {
        const carried = carryPrior(x, rec);
        if (carried) {
          st.carried++;
          record([carried]);
          continue;
        }
        const checked: Pending = session.check(rec);
        if (mayExist(x, rec.row)) checked.verify = true;
        if (session.resolve) {
          chunk.push(checked);
          if (chunk.length >= RESOLVE_CHUNK) await flushChunk();
        } else {
          const full = take(checked);
          if (full) await full;
        }
      }
    }
    await flushChunk();
    for (const [g, rows] of buffers) {
      buffers.delete(g);
      if (stopping) record(rows.map((r) => notSent(r, { error: stopReason() })));
      else await dispatch(rows);
    }
    while (inFlight.size) await Promise.all([...inFlight]);
    progress(true);
    if (failure) throw failure;
    flushFailed(true);
    finished = true;
  } finally {
    o.stop.removeEventListener('abort', onStop);
    inflight?.close(finished);
    if (finished) {
      await writer?.finish();
      await failedFile?.finish();
      if (inPlace) {
        renameSync(writePath!, x.reportPath!);
        // The earlier report's journal and in-flight log (and those of resumes of it that never finished) belong to
        // the report just replaced.
        for (const f of [`${x.reportPath}.journal`, inflightPath(x.reportPath!), inflightPath(writePath!)]) rmSync(f, { force: true });
      }
    } else {
      await writer?.close();
      if (inPlace) for (const f of [writePath!, `${writePath}.journal`]) rmSync(f, { force: true });
    }
  }
  return st;
}

/**
 * --resume / --retry-failed: may an earlier run have created this row without knowing? Yes when its report says
 * "outcome unknown", or when the row was in a batch on the wire (the in-flight log) and the report has no answer
 * for it (killed before the answer came). A row the server clearly refused (a duplicate, a bad value) was not
 * created: it is sent as it is, not looked up (a look-up would find the other instance that holds its key).
 */
function mayExist(x: SendContext, row: number): boolean {
  if (x.op.idempotent) return false; // an update is simply sent again
  const status = x.prior?.statusOf(row);
  if (status === 'ok') return false;
  // Sent after the report was written, by a resume that never finished: what the report says is out of date.
  if (x.resumedInflight.has(row)) return true;
  if (status === undefined) return x.priorInflight.has(row);
  if (status !== 'failed') return false;
  const before = x.prior!.outcome(row);
  // No stored outcome (a huge report's error budget ran out) for a row that was on the wire: unsure, so check.
  if (!before) return x.priorInflight.has(row);
  return before.error_code === OUTCOME_UNKNOWN || before.error_code === 'protocol';
}

/** --resume / --retry-failed: rows already settled by the earlier report go into the new one unchanged. */
function carryPrior(x: SendContext, rec: InputRecord): RowOutcome | undefined {
  if (!x.prior || !skipByPrior(x.prior, rec.row, x.o)) return undefined;
  const before = x.prior.outcome(rec.row);
  const status = x.prior.statusOf(rec.row)!;
  return { ...(before ?? {}), row: rec.row, status, values: rec.values, detail: before?.detail ?? 'from the earlier report' };
}

function failedColumns(source: InputSource, columns: string[]): string[] {
  // Keep the original header text, type hints included, so the file can be fed back as it is.
  return columns.map((c) => (source.hints[c] ? `${c}:${source.hints[c]}` : c));
}

function isAbort(e: unknown): boolean {
  return !!e && typeof e === 'object' && ((e as Error).name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}
