/**
 * The pipeline, wired: rows → batcher → send-batch → recorder, for any operation (docs/decisions.md, "How a row
 * travels").
 *
 * Pass 1 reads the whole input and checks every row (nothing is sent): a file with invalid rows stops here with
 * exit 2 unless --skip-invalid. Pass 2 reads the input again, checks each row again (cheap, and it keeps memory
 * flat: nothing per row survives pass 1), batches the good rows and sends them with at most `concurrency` batches
 * in flight; each outcome goes to the report as its batch finishes.
 */
import { setMaxListeners } from 'node:events';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AuthError, CliError, EXIT, UnreachableError, UsageError, type ExitCode } from '../core/errors.js';
import type { ReportFormat } from '../core/types.js';
import { normalizeDelimiter, openInput, type InputSource, type OpenInputOptions } from '../input/index.js';
import type { CmdbApi } from '../http/cmdb.js';
import type { FeishuApi } from '../http/feishu.js';
import type { Operation, OperationOptions, Session } from '../operations/types.js';
import type { RunSummary } from '../report/summary.js';
import { defaultReportPath } from '../report/writer.js';
import { joinErrors } from '../schema/rows.js';
import type { Progress } from '../ui/progress.js';
import { Batcher } from './batcher.js';
import { notSent, outcome, type Pending } from './outcome.js';
import { checkAll, describePlan, invalidMessage, plannedBatches, type Plan } from './plan.js';
import { Recorder } from './recorder.js';
import { Resume } from './resume.js';
import { checkedRows, headerProblems } from './rows.js';
import { BatchSender, type SendStats } from './send-batch.js';

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

export async function runOperation(o: RunOptions): Promise<RunResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const op = o.operation;
  const source = await openInput(o.input);
  let conn: Connection | undefined;
  try {
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
    const resume = priorPath ? await Resume.read(priorPath, !!o.retryFailed) : Resume.none();

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
      const problems = headerProblems(session, source.columns);
      if (problems.length) {
        throw new UsageError(
          `${source.file}: the header has problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
          'fix the header (or use --no-schema to send columns unchecked)',
        );
      }
    }

    // ---- pass 1: check everything, send nothing
    const plan = await checkAll(source, session, resume, o.stop);
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
    const { recorder: state, stats: sent } = await sendRows({ o, session, source, resume, priorPath, batchSize, reportPath, send, setupError, plan });

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
      batches: o.dryRun ? plannedBatches(plan, batchSize) : sent.batches,
      splits: sent.splits,
      rate_limited: stats.rateLimited,
      rate_limit_wait_ms: Math.round(stats.rateLimitWaitMs),
      already_existed: sent.alreadyExisted,
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


interface Pass2 {
  o: RunOptions;
  session: Session;
  source: InputSource;
  resume: Resume;
  priorPath: string | undefined;
  batchSize: number;
  reportPath: string | null;
  /** False for a dry run or a file blocked by invalid rows: every row is reported, none sent. */
  send: boolean;
  /** Setup failed with this error: every row is reported unsent (or as the earlier report has it). */
  setupError?: CliError;
  plan: Plan;
}

/** Pass 2: every row read again and recorded once — carried from the earlier report, settled here, or sent. */
async function sendRows(x: Pass2): Promise<{ recorder: Recorder; stats: SendStats }> {
  const { o, session, source } = x;
  const op = o.operation;
  const recorder = await Recorder.open({
    reportPath: x.reportPath,
    format: o.report?.format ?? 'csv',
    priorPath: x.priorPath,
    inputColumns: x.plan.columns,
    failed: o.failedPath ? { path: o.failedPath, format: source.format, columns: failedColumns(source, x.plan.columns), delimiter: normalizeDelimiter(o.input.delimiter) } : undefined,
    inflight: x.send && op.unclear === 'reconcile',
    total: x.plan.total,
    progress: o.progress,
    now: o.now ?? Date.now,
    window: Math.max(20_000, o.concurrency * x.batchSize * 8),
  });
  const stats: SendStats = { batches: 0, splits: 0, alreadyExisted: 0 };
  const sender = new BatchSender({ op, session, recorder, kill: o.kill, inflight: recorder.inflight, stats });
  const batcher = new Batcher({ batchSize: x.batchSize, concurrency: o.concurrency, recorder, send: (rows) => sender.send(rows) });
  const onStop = () => recorder.stop('interrupt');
  o.stop.addEventListener('abort', onStop);
  if (o.stop.aborted) onStop();
  const setupError = x.setupError;
  const unsentError = o.dryRun ? undefined : 'not sent: the file has invalid rows';

  /** Records a row that is not sent, or hands it to the batcher (then returns the dispatch to wait for, if any). */
  const take = (r: Pending): Promise<void> | undefined => {
    if (r.errors.length) recorder.record([outcome(r, 'invalid', { error: joinErrors(r.errors) })], 'settled');
    else if (setupError) recorder.record([notSent(r, { error_code: stopCode(setupError), error: `not sent: ${setupError.message.split('\n')[0]}` })], 'stopped');
    else if (recorder.stopping) recorder.record([notSent(r, { error: recorder.stopReason() })], 'stopped');
    else if (!x.send && o.dryRun) recorder.record([notSent(r, { detail: [r.detail, 'dry run'].filter(Boolean).join('; ') })], 'settled');
    else if (!x.send) recorder.record([notSent(r, { error: unsentError })], 'stopped');
    else return batcher.add(r);
    return undefined;
  };

  let complete = false;
  try {
    // Show the bar (0 of total) before the first answer: a first batch held by a 429 or a slow server shows as such.
    if (x.send) recorder.progress(true);
    const rows = checkedRows(source, session, { skip: (row) => x.resume.skip(row), resolve: () => !recorder.stopping });
    for await (const chunk of rows) {
      for (const { rec, checked } of chunk) {
        if (!checked) {
          recorder.record([x.resume.carry(rec)], 'carried');
          continue;
        }
        const r: Pending = checked;
        if (x.resume.mayBeApplied(r.row, op.unclear)) r.verify = true;
        const full = take(r);
        if (full) await full;
      }
    }
    try {
      await batcher.finish();
    } finally {
      recorder.progress(true);
    }
    complete = true;
  } finally {
    o.stop.removeEventListener('abort', onStop);
    await recorder.close(complete);
  }
  return { recorder, stats };
}

/** A stand-in session when setup failed: it only reads rows (to report each one); nothing can be sent. */
function unchecked(e: CliError): Session {
  return {
    checkColumns: () => [],
    check: (rec) => ({ row: rec.row, values: rec.values, payload: {}, group: '', errors: [] }),
    send: () => Promise.reject(e),
  };
}

/** error_code for rows a stopped run did not send. */
function stopCode(e: CliError): string {
  return e instanceof AuthError || e.exitCode === EXIT.AUTH ? 'auth' : e instanceof UnreachableError ? 'unreachable' : 'stopped';
}

function failedColumns(source: InputSource, columns: string[]): string[] {
  // Keep the original header text, type hints included, so the file can be fed back as it is.
  return columns.map((c) => (source.hints[c] ? `${c}:${source.hints[c]}` : c));
}
