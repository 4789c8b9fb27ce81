/**
 * Pass 2, wired (or a dry run's one pass): every row read again (rows) and recorded once (recorder) — carried from the earlier report, settled
 * here (invalid, dry run, stopped), or batched (batcher) and sent (send-batch).
 */
import { AuthError, EXIT, UnreachableError, type CliError } from '../core/errors.js';
import type { InputRecord, RowOutcome } from '../core/types.js';
import type { InputSource } from '../input/index.js';
import type { Session } from '../operations/types.js';
import { joinErrors } from '../schema/rows.js';
import { Batcher } from './batcher.js';
import { notSent, outcome, type Pending } from './outcome.js';
import type { Plan } from './plan.js';
import { Recorder, type Settled } from './recorder.js';
import type { Resume } from './resume.js';
import { checkedRows, type RowItem } from './rows.js';
import type { RunOptions } from './run.js';
import { BatchSender, type SendStats } from './send-batch.js';

export interface Pass2 {
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
  /** The plan of pass 1; for a dry run's one pass, the plan being counted (its total still 0: unknown). */
  plan: Plan;
  /**
   * The checked rows to record; by default the input read again (pass 2). A dry run hands in its one pass (each
   * row read, checked and counted once). `resolve` says whether to still ask the server (not once stopping).
   */
  rows?: (resolve: () => boolean) => AsyncIterable<RowItem[]>;
  /** Requests in flight the connection allows now and ever: the batcher holds twice as many batches (see below). */
  inFlight: { cap(): number; readonly max: number; readonly limited: boolean };
  /** When the run stops (Ctrl-C, or an error that ends it): the batches waiting for the rate limiter give up, and are
   *  reported unsent instead of being sent after the stop. */
  cancelWaiting?: () => void;
}

/** Pass 2: every row read again and recorded once — carried from the earlier report, settled here, or sent. */
export async function sendRows(x: Pass2): Promise<{ recorder: Recorder; stats: SendStats }> {
  const { o, session, source } = x;
  const op = o.operation;
  const recorder = await Recorder.open({
    reportPath: x.reportPath,
    format: o.report?.format ?? 'csv',
    priorPath: x.priorPath,
    inputColumns: x.plan.columns,
    target: session.target,
    durable: !o.dryRun,
    firstRow: source.firstRow,
    failed: o.failedPath ? { path: o.failedPath, format: source.format, columns: failedColumns(source, x.plan.columns), delimiter: source.delimiter, encoding: source.encoding, bom: source.bom, sheet: source.sheet?.name } : undefined,
    inflight: x.send && op.unclear === 'reconcile',
    total: x.plan.total,
    progress: o.progress,
    now: o.now ?? Date.now,
    window: Math.max(20_000, 2 * x.inFlight.max * x.batchSize * 2),
    onStop: x.cancelWaiting,
  });
  const stats: SendStats = { batches: 0, splits: 0, alreadyExisted: 0, duplicates: 0, explained: 0 };
  const sender = new BatchSender({ op, session, recorder, kill: o.kill, inflight: recorder.inflight, stats });
  // With a rate limit, twice the requests in flight: those on the wire and as many ready behind them, built and
  // serialised while they wait for the rate limiter, so a turn of the windows finds its batches ready. Without one
  // nothing waits for a window: as many as may be in flight. Rows held: that × the batch size.
  const depth = x.inFlight.limited ? 2 : 1;
  const batcher = new Batcher({ batchSize: x.batchSize, capacity: () => depth * x.inFlight.cap(), recorder, send: (rows) => sender.send(rows) });
  const onStop = () => recorder.stop('interrupt');
  o.stop.addEventListener('abort', onStop);
  if (o.stop.aborted) onStop();
  const setupError = x.setupError;

  // Rows settled here are recorded together (a dry run's million rows in 2,000 calls, not a million), in input
  // order: the ones held are recorded before a later row goes to the batcher, and at the end of every chunk.
  let held: RowOutcome[] = [];
  let heldHow: Settled = 'settled';
  const recordHeld = () => {
    if (held.length === 0) return;
    recorder.record(held, heldHow);
    held = [];
  };
  // The record being taken: its own text goes with an outcome that reports its values (report/writer.ts).
  let taking: InputRecord | undefined;
  const settle = (out: RowOutcome, how: Settled) => {
    if (taking !== undefined && out.values === taking.values) {
      if (taking.valuesJson !== undefined) out.valuesJson = taking.valuesJson;
      if (taking.valuesCsv !== undefined) out.valuesCsv = taking.valuesCsv;
    }
    if (how !== heldHow) recordHeld();
    heldHow = how;
    held.push(out);
  };

  /** Records a row that is not sent, or hands it to the batcher (then returns the dispatch to wait for, if any). */
  const take = (r: Pending): Promise<void> | undefined => {
    if (r.errors.length) settle(outcome(r, 'invalid', { error: joinErrors(r.errors) }), 'settled');
    else if (r.settled) settle(outcome(r, r.settled.status, { id: r.settled.id, error_code: r.settled.error_code, error: r.settled.error }), 'settled');
    else if (setupError) settle(notSent(r, { error_code: stopCode(setupError), error: `not sent: ${setupError.message.split('\n')[0]}` }), 'stopped');
    else if (o.dryRun) settle(notSent(r, { detail: r.detail ? `${r.detail}; dry run` : 'dry run' }), 'settled');
    else if (!x.send) settle(notSent(r, { error: 'not sent: the file has invalid rows' }), 'stopped');
    else if (recorder.stopping) settle(notSent(r, { error: recorder.stopReason() }), 'stopped');
    else {
      recordHeld();
      return batcher.add(r);
    }
    return undefined;
  };

  let complete = false;
  try {
    // Show the bar (0 of total) before the first answer: a first batch held by a 429 or a slow server shows as such.
    if (x.send) recorder.progress(true);
    const resolve = () => !recorder.stopping;
    const rows = x.rows ? x.rows(resolve) : checkedRows(source, session, { skip: (rec) => x.resume.skip(rec), resolve });
    for await (const chunk of rows) {
      for (const { rec, checked } of chunk) {
        taking = rec;
        if (!checked) {
          settle(x.resume.carry(rec), 'carried');
          continue;
        }
        const r: Pending = checked;
        if (x.resume.mayBeApplied(r.row, op.unclear)) r.verify = true;
        const full = take(r);
        if (full) await full;
      }
      recordHeld();
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

/** error_code for rows a stopped run did not send. */
function stopCode(e: CliError): string {
  return e instanceof AuthError || e.exitCode === EXIT.AUTH ? 'auth' : e instanceof UnreachableError ? 'unreachable' : 'stopped';
}

function failedColumns(source: InputSource, columns: string[]): string[] {
  // Keep the original header text, type hints included, so the file can be fed back as it is.
  return columns.map((c) => (source.hints[c] ? `${c}:${source.hints[c]}` : c));
}
