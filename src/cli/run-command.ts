/**
 * The data commands: turn parsed options into a pipeline run, draw progress, print the summary, pick the exit code.
 */
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { formatOfPath, reportFormatOfPath } from '../core/formats.js';
import type { InputFormat, ReportFormat } from '../core/types.js';
import { loadOperation } from '../operations/index.js';
import type { OperationOptions } from '../operations/types.js';
import { runOperation, type RunResult } from '../pipeline/run.js';
import { appendStepSummary, formatSummary, type RunSummary } from '../report/summary.js';
import { colorEnabled, painter } from '../ui/color.js';
import { createProgress, progressMode } from '../ui/progress.js';
import { connectCmdb, connectFeishu } from './connect.js';
import { emptySummary } from './errors.js';
import type { OperationManifest } from './manifests/manifest.js';
import type { OperationFlagValues, RowsOptions } from './manifests/operations.js';

/**
 * The report format: the flag, else the report path's extension, else the input's format. Without --report,
 * --resume / --retry-failed rewrite the earlier report, so its extension decides.
 */
function reportFormat(o: RowsOptions, inputFormat: InputFormat | undefined): ReportFormat {
  if (o.reportFormat) return o.reportFormat;
  const path = o.report ?? o.resume ?? o.retryFailed;
  return (path && reportFormatOfPath(path)) || inputFormat || 'csv';
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
  const file = args[0]!;
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
    const fmt = o.format ?? formatOfPath(file);
    const io = {
      env,
      warn,
      trace: (line: string) => progress.log(paint.dim(line)),
      onWait: (ms: number, reason: string) => progress.wait(ms, waitReason(reason)),
    };
    result = await runOperation({
      operation: op,
      input: { file, format: o.format, encoding: o.encoding, delimiter: o.delimiter },
      opOptions: operationOptions(o, m),
      report: { path: o.report, format: reportFormat(o, fmt) },
      failedPath: o.failed,
      dryRun: !!o.dryRun,
      skipInvalid: !!o.skipInvalid,
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      resume: o.resume,
      retryFailed: o.retryFailed,
      connect: () => (m.service === 'cmdb' ? connectCmdb(o, io) : connectFeishu(o, io)),
      info,
      warn,
      progress,
      stop: stop.signal,
      kill: kill.signal,
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
