/** A finished run in numbers: the summary (also the --json output), its exit code and why the run stopped. */
import { EXIT, type CliError, type ExitCode } from '../core/errors.js';
import { GROUPS_SHOWN, type RunSummary, type SyncPlan } from '../report/summary.js';
import { plannedBatches, type Plan } from './plan.js';
import type { Recorder, StopCause } from './recorder.js';
import type { Connection, RunOptions } from './run.js';
import type { SendStats } from './send-batch.js';

export interface Facts {
  o: RunOptions;
  plan: Plan;
  batchSize: number;
  reportPath: string | null;
  recorder: Recorder;
  sent: SendStats;
  stats: ReturnType<Connection['stats']>;
  cause: StopCause | undefined;
  blockedByInvalid: boolean;
  send: boolean;
  /** CSV rows with every cell empty, skipped by the reader. */
  emptyRows: number;
  durationMs: number;
  /** The unique field rows are looked up by (Session.uniqueKey), when it is a field. */
  key?: string;
}

/** The run's numbers, its exit code and why it stopped, for the summary (and --json). */
export function summarize(f: Facts): RunSummary {
  const { o, recorder: r, stats, cause } = f;
  const c = r.counts;
  let exitCode: ExitCode =
    cause?.kind === 'failed' ? cause.error.exitCode : cause ? EXIT.INTERRUPTED : f.blockedByInvalid ? EXIT.USAGE : c.failed + c.invalid + c.unsent > 0 && f.send ? EXIT.PARTIAL : EXIT.OK;
  if (o.dryRun && !f.blockedByInvalid) exitCode = EXIT.OK;
  return {
    command: o.operation.command,
    // Every row is recorded once in pass 2; pass 1 may have stopped early (Ctrl-C while checking).
    total: c.ok + c.failed + c.invalid + c.unsent + c.unchanged,
    ok: c.ok,
    failed: c.failed,
    invalid: c.invalid,
    unsent: c.unsent,
    ...(c.unchanged ? { unchanged: c.unchanged } : {}),
    ...(o.opOptions.plan ? { plan_file: o.opOptions.plan } : {}),
    requests: stats.requests,
    retries: stats.retries,
    duration_ms: f.durationMs,
    // A dry run writes a plan, never a report: nothing in it may be taken for a record of what was sent.
    report: o.dryRun ? null : f.reportPath,
    plan: f.plan.actions.size ? planCounts(f.plan) : o.dryRun ? f.reportPath : undefined,
    exit_code: exitCode,
    dry_run: o.dryRun || undefined,
    batches: o.dryRun ? plannedBatches(f.plan, f.batchSize) : f.sent.batches,
    splits: f.sent.splits,
    rate_limited: stats.rateLimited,
    rate_limit_wait_ms: Math.round(stats.rateLimitWaitMs),
    already_existed: f.sent.alreadyExisted,
    duplicates: f.sent.duplicates || undefined,
    // The field rows were found by, when some were: the advice names it.
    key: f.sent.explained ? f.key : undefined,
    outcome_unknown: r.outcomeUnknown,
    resumed_ok: r.carried || undefined,
    empty_rows: f.emptyRows || undefined,
    failed_file: o.failedPath ?? null,
    error:
      cause?.kind === 'failed'
        ? withHint(cause.error)
        : cause
          ? 'interrupted: rows not finished are reported unsent; run again with --resume <report> to finish'
          : f.blockedByInvalid
            ? `${f.plan.invalid} invalid row(s): nothing was sent (fix them, or use --skip-invalid to send the valid rows)`
            : null,
    groups: r.groups.list(GROUPS_SHOWN),
  };
}

/** The error of a run that stopped, with its hint (what to do), for the summary. */
function withHint(e: CliError): string {
  return e.hint ? `${e.message}\n${e.hint}` : e.message;
}

/** --json's "plan" of a sync: rows by action (delete: instances --prune removes, counted by the prune step). */
function planCounts(plan: Plan): SyncPlan {
  const n = (a: string) => plan.actions.get(a) ?? 0;
  return { create: n('create'), update: n('update'), unchanged: n('unchanged'), delete: n('delete'), conflict: n('conflict') };
}
