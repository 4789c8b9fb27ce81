/**
 * The data commands: turn parsed options into a pipeline run, draw progress, print the summary, pick the exit code.
 */
import { extname } from 'node:path';
import { CliError, EXIT, UsageError, type ExitCode } from '../core/errors.js';
import { formatOfPath, reportFormatOfPath } from '../core/formats.js';
import type { InputFormat, ReportFormat } from '../core/types.js';
import { loadOperation } from '../operations/index.js';
import type { OperationOptions } from '../operations/types.js';
import { runOperation, type RunOptions, type RunResult } from '../pipeline/run.js';
import { appendStepSummary, formatSummary, type RunSummary } from '../report/summary.js';
import { colorEnabled, painter } from '../ui/color.js';
import { createProgress, progressMode } from '../ui/progress.js';
import { emptySummary } from './errors.js';
import type { OperationManifest } from './manifests/manifest.js';
import type { OperationFlagValues, RowsOptions } from './manifests/operations.js';

/**
 * The report format: the flag, else the report path's extension, else the input's format. Without --report,
 * --resume / --retry-failed rewrite the earlier report, so its extension decides.
 */
function reportFormat(o: RowsOptions, inputFormat: InputFormat | undefined, command: string): ReportFormat {
  if (command === 'revert') return revertReportFormat(o);
  if (o.reportFormat) return o.reportFormat;
  const path = o.report ?? o.resume ?? o.retryFailed;
  // A workbook's report is a CSV (it opens in Excel too).
  return (path && reportFormatOfPath(path)) || (inputFormat === 'xlsx' ? undefined : inputFormat) || 'csv';
}

/**
 * revert's report holds, as each row's input, what the revert wrote (so that it can be reverted in turn): values of
 * any shape, which only JSON and NDJSON reports keep. NDJSON unless --report-format or --report says json.
 */
function revertReportFormat(o: RowsOptions): ReportFormat {
  const ext = o.report && o.report !== '-' ? extname(o.report).slice(1).toLowerCase() : '';
  const f = o.reportFormat ?? (ext === 'json' ? 'json' : ext === 'csv' ? 'csv' : 'ndjson');
  if (f === 'csv') throw new UsageError('revert writes its report as NDJSON or JSON (each row keeps what it wrote, so the revert can be reverted)', 'use --report-format ndjson, or a --report path ending in .ndjson');
  return f;
}

/** The operation's own options (its manifest's `own` flags), as the operation reads them. */
function operationOptions(o: RowsOptions, m: OperationManifest): OperationOptions {
  const own: OperationFlagValues = Object.fromEntries(Object.keys(m.own).map((k) => [k, o[k as keyof RowsOptions]]));
  return { ...own, noSchema: !o.schema, empty: o.empty };
}

/**
 * Seconds between the plain progress lines of CI logs and pipes: 15 s. CMDB_BULK_PROGRESS_INTERVAL_MS changes it
 * (meant for tests, which cannot wait 15 s; any value from 1 ms).
 */
function progressInterval(env: NodeJS.ProcessEnv): number {
  const v = Number(env.CMDB_BULK_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 1 ? v : 15_000;
}

/** The throttle says why the run waits; the user needs only: our own rate limit, or the server asked for a pause. */
function waitReason(reason: string): string {
  return reason === 'rate limit' ? 'rate limit' : 'server rate limit';
}

/** Runs a data command: its operation through the pipeline, with progress, signals and the summary. */
export async function runRows(o: RowsOptions, args: string[], m: OperationManifest): Promise<number> {
  const name = m.name;
  const op = await loadOperation(name);
  if (!op) throw new CliError(`no operation behind the command ${name}`, EXIT.INTERNAL);
  const env = process.env;
  const stderr = process.stderr;
  const color = colorEnabled({ flag: o.color, stream: stderr, env });
  const paint = painter(color);
  const quiet = !!o.quiet;
  const file = o.apply ?? args[0] ?? '';
  const mode = progressMode({ progress: o.progress, quiet, stream: stderr, env });
  const progress = createProgress({ mode, stream: stderr, label: name, color, intervalMs: progressInterval(env) });
  const info = (line: string) => {
    if (!quiet) progress.log(line);
  };
  const warn = (line: string) => progress.log(paint.warn(line));
  const stop = new AbortController();
  const kill = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      warn(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: finishing the batches in flight, then writing the report (press Ctrl-C again to stop at once)`);
      stop.abort();
    } else if (interrupts === 2) {
      warn('stopping now: requests in flight are abandoned and reported; --resume checks them before sending again');
      kill.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let result: RunResult;
  try {
    if (o.report === '-' && o.json) throw new UsageError('--report - and --json both want stdout', 'write the report to a file with --report <path>');
    const opOptions = operationOptions(o, m);
    if (name === 'sync') Object.assign(opOptions, await syncOptions(o, args[0]));
    const fmt = o.format ?? formatOfPath(file);
    const io = {
      env,
      warn,
      trace: (line: string) => progress.log(paint.dim(line)),
      onWait: (ms: number, reason: string) => progress.wait(ms, waitReason(reason)),
    };
    result = await runOperation({
      operation: op,
      input: { file, format: o.apply ? 'ndjson' : o.format, encoding: o.encoding, delimiter: o.delimiter, sheet: o.sheet, obj: (o as { obj?: string }).obj },
      opOptions,
      report: { path: o.report, format: reportFormat(o, fmt, name) },
      failedPath: o.failed,
      dryRun: !!o.dryRun || !!o.planOnly,
      skipInvalid: !!o.skipInvalid,
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      resume: o.resume,
      retryFailed: o.retryFailed,
      overwrite: !!o.overwrite,
      // The HTTP stack (undici, the answer schemas) loads only when the run talks to a server.
      connect: async () => {
        const { connectCmdb, connectFeishu } = await import('./connect.js');
        return m.service === 'cmdb' ? connectCmdb(o, io) : connectFeishu(o, io);
      },
      info,
      warn,
      progress,
      stop: stop.signal,
      kill: kill.signal,
      ask: process.stdin.isTTY && process.stderr.isTTY ? askYes : undefined,
      after: name === 'sync' && o.prune ? (x) => pruneStep(o, opOptions, !!o.dryRun || !!o.planOnly, kill.signal, x) : undefined,
    });
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    result = { exitCode: e.exitCode, summary: { ...emptySummary(name), exit_code: e.exitCode, error: e.message + (e.hint ? `\n${e.hint}` : '') } };
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printSummary(result.summary, { json: !!o.json, quiet, color });
  return result.exitCode;
}

function printSummary(s: RunSummary, o: { json: boolean; quiet: boolean; color: boolean }) {
  appendStepSummary(s);
  if (o.json) {
    process.stdout.write(JSON.stringify(s) + '\n');
    if (s.error && s.total === 0) process.stderr.write(`cmdb-bulk: ${s.error}\n`);
    return;
  }
  if (s.total === 0 && s.error) {
    process.stderr.write(`${painter(o.color).fail('error:')} ${s.error}\n`);
    return;
  }
  process.stderr.write(formatSummary(s, { color: o.color }) + '\n');
}

/** sync's own options: the file or the plan to apply, the model and key (a plan says its own), where the plan goes. */
async function syncOptions(o: RowsOptions, file: string | undefined): Promise<Partial<OperationOptions>> {
  if ((o.yes || o.maxDelete !== undefined) && !o.prune) throw new UsageError('--yes and --max-delete go with --prune (sync deletes nothing without it)');
  if (o.apply) {
    if (o.prune) throw new UsageError('--prune cannot be used with --apply: a plan names only the rows it changes', `prune with the file: cmdb-bulk sync <file> --obj <id> --key <field> --prune`);
    if (file) throw new UsageError(`sync --apply takes the plan only, not a file too (got ${file})`, `run: cmdb-bulk sync --apply ${o.apply}`);
    if (o.planOnly || o.plan) throw new UsageError('--apply cannot be used with --plan-only or --plan: it applies a plan that exists');
    const { readFirstLine, planTarget } = await import('../operations/sync-plan.js');
    const target = planTarget(readFirstLine(o.apply), o.apply);
    if ((o.obj && o.obj !== target.obj) || (o.key && o.key !== target.key)) throw new UsageError(`${o.apply} is a plan for --obj ${target.obj} --key ${target.key}`, 'leave out --obj and --key with --apply: the plan says them');
    return { ...target, applyPlan: true };
  }
  if (!file) throw new UsageError('sync needs a file (or --apply <plan>)', 'for example: cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id');
  if (!o.obj || !o.key) throw new UsageError('sync needs --obj <bk_obj_id> and --key <field>', 'for example: cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id');
  if (o.planOnly && file === '-' && !o.plan) throw new UsageError('--plan-only with standard input needs --plan <path>', 'for example --plan switches.plan.ndjson');
  const plan = o.plan ?? (o.planOnly ? defaultPlanPath(file) : undefined);
  return { plan };
}

/** switches.csv → switches.sync.plan.ndjson, next to it. */
function defaultPlanPath(file: string): string {
  const ext = extname(file);
  return `${ext ? file.slice(0, -ext.length) : file}.sync.plan.ndjson`;
}

/** sync --prune, after the rows: deletes what the file does not name (src/operations/sync-prune.ts). */
async function pruneStep(o: RowsOptions, op: OperationOptions, dryRun: boolean, signal: AbortSignal, x: Parameters<NonNullable<RunOptions['after']>>[0]): Promise<ExitCode> {
  const { prune } = await import('../operations/sync-prune.js');
  const r = await prune({
    api: x.conn.cmdb!,
    obj: op.obj!,
    key: op.key!,
    source: x.source,
    dryRun,
    yes: !!o.yes,
    maxDelete: o.maxDelete,
    ask: process.stdin.isTTY && process.stderr.isTTY ? askYes : undefined,
    reportPath: x.summary.report,
    signal,
  });
  x.summary.pruned = r;
  // The prune's look-ups and deletes count as the run's requests.
  const stats = x.conn.stats();
  x.summary.requests = stats.requests;
  x.summary.retries = stats.retries;
  if (typeof x.summary.plan === 'object' && x.summary.plan) x.summary.plan.delete = r.candidates;
  const s = x.summary;
  return s.exit_code === EXIT.OK && !dryRun && (r.refused !== undefined && r.candidates > 0 || r.kept > 0) ? EXIT.PARTIAL : (s.exit_code as ExitCode);
}

async function askYes(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
