/**
 * The pipeline, wired: rows → batcher → send-batch → recorder, for any operation (docs/decisions.md, "How a row
 * travels").
 *
 * Pass 1 reads the whole input and checks every row (nothing is sent): a file with invalid rows stops here with
 * exit 2 unless --skip-invalid. Pass 2 reads the input again, checks each row again (it keeps memory flat: nothing
 * per row survives pass 1), batches the good rows and sends them — as many requests in flight as the connection
 * allows (src/http/in-flight.ts), the next batches ready while they wait for the rate limiter; each outcome goes to
 * the report as its batch finishes. A dry run needs no pass 1: it checks and writes each row's line of the plan in
 * one pass (docs/decisions.md, "A dry run reads its input once").
 */
import { setMaxListeners } from 'node:events';
import { rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, EXIT, UsageError, type ExitCode } from '../core/errors.js';
import type { InputRecord, ReportFormat } from '../core/types.js';
import { openInput, type InputSource, type OpenInputOptions } from '../input/index.js';
import type { CmdbApi } from '../http/cmdb.js';
import type { FeishuApi } from '../http/feishu.js';
import { AUTO_MAX } from '../http/in-flight.js';
import type { Operation, OperationOptions, Session } from '../operations/types.js';
import type { RunSummary } from '../report/summary.js';
import type { Progress } from '../ui/progress.js';
import { actionTotals, checkAll, describePlan, emptyPlan, invalidMessage, tallied, type Plan } from './plan.js';
import type { Recorder, StopCause } from './recorder.js';
import { boundHeapGrowth } from './heap.js';
import { placeReport, realReportPath, type ReportPlace } from './report-path.js';
import { Resume } from './resume.js';
import { checkedRows, headerProblems } from './rows.js';
import type { SendStats } from './send-batch.js';
import { sendRows } from './send-rows.js';
import { checkUniqueInFile, rowsInFile } from './unique-check.js';
import { summarize } from './summarize.js';

export interface Connection {
  cmdb?: CmdbApi;
  feishu?: FeishuApi;
  /** Requests in flight the server may have now (`cap`) and ever (`max`); src/http/in-flight.ts. */
  inFlight?: { cap(): number; readonly max: number; readonly limited: boolean };
  /** The run stops: requests waiting for the rate limiter give up, unsent (those in flight finish). */
  cancelWaiting?(): void;
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
  /** --concurrency: the most requests in flight; absent, the connection sizes it (src/http/in-flight.ts). */
  concurrency?: number;
  resume?: string;
  retryFailed?: string;
  /** --overwrite: --report may name a file that holds a report with ok rows. */
  overwrite?: boolean;
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
  /** Asks the user a y/N question (a terminal); handed to the operation (delete-inst, revert confirm deletes). */
  ask?: (question: string) => Promise<boolean>;
  /**
   * A step after the rows, on the same connection (sync --prune), when the run was not stopped or blocked; it may
   * add to the summary, and returns the exit code.
   */
  after?: (x: { conn: Connection; source: InputSource; summary: RunSummary }) => Promise<ExitCode>;
}

export interface RunResult {
  summary: RunSummary;
  exitCode: ExitCode;
}

export async function runOperation(o: RunOptions): Promise<RunResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const op = o.operation;
  boundHeapGrowth();
  const source = await openInput(o.input);
  let conn: Connection | undefined;
  try {
    if (source.sheet) o.info(sheetLine(source));
    // Ranges (--batch-size within the API's limit, --concurrency 1..64, --resume × --retry-failed) are checked where
    // the flags are declared (src/cli/manifests); the run trusts them.
    const batchSize = o.batchSize ?? op.defaultBatch;
    // Every request in flight or waiting for the limiter listens on these signals (client, limiter, retry sleep): at
    // --concurrency 16 Node warned of a "possible memory leak". Allow what the batches held need (twice the most in
    // flight, send-rows.ts); a real leak still warns.
    setMaxListeners(Math.max(10, 2 * (o.concurrency ?? AUTO_MAX) * 4 + 10), o.kill, o.stop);

    // Writing the report or the --failed file over the input would destroy it while it is read (twice).
    const outputs = [['--report', o.report?.path], [o.resume ? '--resume' : '--retry-failed', o.resume ?? o.retryFailed], ['--failed', o.failedPath]];
    for (const [flag, out] of outputs) {
      if (out && sameFile(out, source.path)) throw new UsageError(`${flag} ${out} is the input file: the report would overwrite it`, `give ${flag} another path`);
    }

    const given = o.resume ?? o.retryFailed;
    const priorPath = given === undefined ? undefined : realReportPath(given);
    const resume = priorPath ? await Resume.read(priorPath, !!o.retryFailed) : Resume.none();

    // A dry run needs the server only to read a CMDB model's attributes or resolve keys; Feishu objects have no schema here.
    const needServer = !(o.dryRun && (o.opOptions.noSchema || (op.service === 'feishu' && !o.opOptions.key)));
    let session: Session;
    // Set when the server could not be reached, or refused the credentials, before a single row was sent: the
    // rows are still read and each one reported (unsent, or as the earlier report has it), so nothing is lost.
    let setupError: CliError | undefined;
    try {
      // Ctrl-C while connecting or reading the model does not wait for the answer: the run stops (exit 130) and
      // every row is reported unsent.
      const setup = async () => {
        conn = needServer ? await o.connect() : undefined;
        return op.setup({ cmdb: conn?.cmdb, feishu: conn?.feishu, options: o.opOptions, source, info: o.info, signal: o.kill, ask: o.ask });
      };
      session = await unlessStopped(setup(), o.stop);
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
          'fix the header: use the field ids (or display names) of the model',
        );
      }
    }

    // A dry run also finds rows of the file that repeat a unique value (the server would refuse the second).
    const unique = o.dryRun && !setupError ? checkUniqueInFile(session, (first) => rowsInFile(source.path, source.format, first)) : undefined;
    if (unique) session = unique;

    const placeTheReport = () =>
      o.report
        ? placeReport({ given: o.report.path, format: o.report.format, inputFile: o.input.file, command: op.command, dryRun: o.dryRun, priorPath, overwrite: !!o.overwrite, warn: o.warn, now: new Date(started) })
        : Promise.resolve(null);
    const skip = (rec: InputRecord) => resume.skip(rec);

    // A dry run reads the input once: each row is checked, counted into the plan and written to the plan file in
    // the same pass (a dry run sends nothing, so nothing waits for the whole file to be checked). Not with --resume /
    // --retry-failed (the earlier report is judged on the whole input before anything is written), nor when a CSV
    // plan needs the keys of every JSON record for its header.
    const onePass = o.dryRun && !priorPath && (source.columns !== null || o.report?.format !== 'csv');
    let plan: Plan;
    let place: ReportPlace | null = null;
    let pass: { recorder: Recorder; stats: SendStats } | undefined;
    if (onePass) {
      place = await placeTheReport();
      plan = emptyPlan(source);
      const counted = plan;
      // Like pass 2, it reads every row even after Ctrl-C (the plan lists them all); it stops asking the server.
      const rows = (resolve: () => boolean) => tallied(counted, checkedRows(source, session, { skip, resolve }), source);
      try {
        pass = await sendRows({ o, session, source, resume, priorPath, batchSize, reportPath: place?.path ?? null, send: false, plan, rows, inFlight: fixedInFlight(o.concurrency ?? 4) });
      } catch (e) {
        // A file found broken halfway (invalid JSON, not UTF-8) leaves no half plan: as before, when it was found by
        // pass 1, before the plan was written.
        if (place && place.path !== '-') for (const f of [place.path, `${place.path}.journal`]) rmSync(f, { force: true });
        throw e;
      }
    } else {
      // ---- pass 1: check everything, send nothing
      plan = await checkAll(source, session, resume, o.stop);
      unique?.reset();
    }
    for (const note of source.notes()) o.info(note);
    // An empty change set (a header and no rows) is normal in CI: nothing to do, an empty report, exit 0 — unless
    // setup failed. (Interrupted, pass 1 read nothing: pass 2 still reports every row.)
    if (plan.total === 0 && setupError && !o.stop.aborted) throw setupError;
    if (priorPath && !o.stop.aborted) {
      const edited = resume.verdict(priorPath, plan.total);
      if (edited) o.info(edited);
      if (!resume.byContent) o.warn(`${priorPath} has no row fingerprints (written by an older version): its rows are matched to the input's by number only`);
    }

    if (!onePass) place = await placeTheReport();
    const reportPath = place?.path ?? null;
    const blockedByInvalid = plan.invalid > 0 && !o.skipInvalid && !setupError;
    if (blockedByInvalid) {
      o.warn(invalidMessage(source, plan));
    }
    if (plan.actions.size) {
      o.info(`plan: ${actionTotals(plan)}`);
      if (plan.groups.size === 0 && !blockedByInvalid) o.info('nothing to send: the server already holds what the file says');
    }
    if (o.dryRun) {
      for (const line of describePlan(op, session, plan, batchSize, o.concurrency)) o.info(line);
    }

    if (!o.dryRun && !blockedByInvalid && !setupError) await session.confirm?.();

    // ---- pass 2: send (or, for a dry run or a blocked file, write the report without sending)
    const send = !o.dryRun && !blockedByInvalid && !setupError;
    const inFlight = conn?.inFlight ?? fixedInFlight(o.concurrency ?? 4);
    const { recorder, stats: sent } = pass ?? (await sendRows({ o, session, source, resume, priorPath, batchSize, reportPath, send, setupError, plan, inFlight, cancelWaiting: () => conn?.cancelWaiting?.() }));
    const stats = conn?.stats() ?? { requests: 0, retries: 0, rateLimited: 0, rateLimitWaitMs: 0 };
    const cause: StopCause | undefined = setupError ? { kind: 'failed', error: setupError } : recorder.cause;
    const summary = summarize({ o, plan, batchSize, reportPath, recorder, sent, stats, cause, blockedByInvalid, send, emptyRows: source.emptyRows, durationMs: now() - started, key: o.opOptions.key ?? (op.command === 'create-inst' ? session.uniqueKey : undefined) });
    let exitCode = summary.exit_code as ExitCode;
    if (o.after && conn && (exitCode === EXIT.OK || exitCode === EXIT.PARTIAL)) {
      exitCode = await o.after({ conn, source, summary });
      summary.exit_code = exitCode;
    }
    return { summary, exitCode };
  } finally {
    await source.close();
    await conn?.close();
  }
}

/** Without a connection (nothing is sent): a fixed number. */
function fixedInFlight(n: number): { cap(): number; max: number; limited: boolean } {
  return { cap: () => n, max: n, limited: false };
}

/** Which sheet of a workbook is read, and how: the first thing to check when nothing matches. */
function sheetLine(source: InputSource): string {
  const { name, layout } = source.sheet!;
  const first = source.firstRow ?? 1;
  const how =
    layout === 'cmdb' ? `CMDB's layout: field ids from row 3, data from row ${first}`
    : layout === 'cmdb-association' ? `CMDB's association sheet: columns B-E, data from row ${first}`
    : `header in row ${first - 1}`;
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

/** `work`, or an interruption (exit 130) as soon as `stop` aborts, whichever comes first. */
function unlessStopped<T>(work: Promise<T>, stop: AbortSignal): Promise<T> {
  const interrupted = () => new CliError('interrupted before any row was sent (while connecting or reading the model)', EXIT.INTERRUPTED, 'run the same command again; nothing was sent');
  if (stop.aborted) {
    work.catch(() => undefined);
    return Promise.reject(interrupted());
  }
  return new Promise<T>((resolve, reject) => {
    const onStop = () => reject(interrupted());
    stop.addEventListener('abort', onStop, { once: true });
    work.then(resolve, reject).finally(() => stop.removeEventListener('abort', onStop));
  });
}

/** A stand-in session when setup failed: it only reads rows (to report each one); nothing can be sent. */
function unchecked(e: CliError): Session {
  return {
    checkColumns: () => [],
    check: (rec) => ({ row: rec.row, values: rec.values, payload: {}, group: '', errors: [] }),
    send: () => Promise.reject(e),
  };
}
