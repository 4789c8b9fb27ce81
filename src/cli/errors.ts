/** What the user sees when something escapes the commands: never a stack trace unless --verbose. */
import { CliError, EXIT } from '../core/errors.js';
import type { RunSummary } from '../report/summary.js';

export function emptySummary(command: string): RunSummary {
  return { command, total: 0, ok: 0, failed: 0, invalid: 0, unsent: 0, requests: 0, retries: 0, duration_ms: 0, report: null, exit_code: EXIT.INTERNAL, error: null };
}

/** Prints an error that reached the top and returns the exit code for it. */
export function reportCrash(e: unknown, opts: { command: string; json: boolean; verbose: boolean }): number {
  const known = e instanceof CliError;
  const code = known ? e.exitCode : EXIT.INTERNAL;
  const message = known ? e.message + (e.hint ? `\n${e.hint}` : '') : `internal error: ${(e as Error)?.message ?? String(e)} (this is a bug; please report it with --verbose output)`;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...emptySummary(opts.command), exit_code: code, error: message }) + '\n');
  }
  process.stderr.write(`cmdb-bulk: ${message}\n`);
  if (!known && opts.verbose && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return code;
}
