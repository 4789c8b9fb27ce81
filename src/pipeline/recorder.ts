/**
 * The recorder: every row's outcome goes through here, once. It counts them, groups the failures by cause, writes
 * the report (and the --failed file, in input order), throttles the progress display, holds the batcher back while
 * the report's reorder buffer is full, and keeps why the run stopped (a structured cause, not a message).
 */
import { renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliError } from '../core/errors.js';
import type { ReportFormat, RowOutcome, RowStatus } from '../core/types.js';
import { FailedRowsWriter, type FailedRows, type FailedRowsWriterOptions } from '../report/failed-file.js';
import { ErrorGroups } from '../report/summary.js';
import { ReportWriter } from '../report/writer.js';
import type { Progress } from '../ui/progress.js';
import { InflightLog, inflightPath, resumingPath } from './inflight.js';
import { OUTCOME_UNKNOWN } from './outcome.js';

/**
 * How a row was settled. `answered`: by the server; `carried`: from the earlier report (--resume); `settled`: by the
 * tool (invalid, dry run); `stopped`: not sent because the whole run stopped (its cause is said once, in the
 * summary, so these rows are not a failure cause of their own).
 */
export type Settled = 'answered' | 'carried' | 'settled' | 'stopped';

/** Why a run stopped early: interrupted (Ctrl-C, SIGTERM), or an error that ends the run (credentials, server gone). */
export type StopCause = { kind: 'interrupted' } | { kind: 'failed'; error: CliError };

export interface RecorderOptions {
  /** Where the report goes; null: no report. */
  reportPath: string | null;
  format: ReportFormat;
  /** The earlier report (--resume / --retry-failed): a report written over it is written beside it until complete. */
  priorPath?: string;
  inputColumns: string[];
  /** The report's `target` column: the model the run writes to (Session.target). */
  target?: string;
  /** Default true: the finished report is flushed to the disk; false for a dry run's plan (ReportWriterOptions). */
  durable?: boolean;
  /** The `row` of the first input record: 1 (the default), or the sheet row where a workbook's data starts. */
  firstRow?: number;
  failed?: FailedRowsWriterOptions;
  /** Keep an in-flight log beside the report (rows on the wire, for --resume). */
  inflight: boolean;
  total: number;
  progress: Progress;
  now: () => number;
  /** Rows the report may hold back (waiting for an earlier row) before the batcher waits. */
  window: number;
  /** Called once when the run stops (the batches waiting for the rate limiter give up: send-rows.ts). */
  onStop?: () => void;
}

export class Recorder {
  readonly counts: Record<RowStatus, number> = { ok: 0, failed: 0, invalid: 0, unsent: 0, unchanged: 0 };
  readonly groups = new ErrorGroups();
  carried = 0;
  outcomeUnknown = 0;
  interrupted = false;
  fatal?: CliError;
  private done = 0;
  private shownDone = -1;
  private shownAt = -Infinity;
  private readonly waiting: Array<() => void> = [];
  /** Failed outcomes kept until the report has written past them: the --failed file is in input order. */
  private readonly pendingFailed: RowOutcome[] = [];

  private constructor(
    private readonly o: RecorderOptions,
    private readonly writer: ReportWriter | undefined,
    private readonly failedFile: FailedRows | undefined,
    readonly inflight: InflightLog | undefined,
    /** The report being written over the earlier one, beside it (null when not in place). */
    private readonly beside: string | null,
  ) {}

  static async open(o: RecorderOptions): Promise<Recorder> {
    // --resume / --retry-failed into the earlier report: write beside it (report and in-flight log) and replace it
    // only once the new one is complete, so a run killed while resuming leaves the earlier report whole, and the
    // rows it sent meanwhile are known as such (the resuming in-flight log).
    const inPlace = !!o.reportPath && !!o.priorPath && o.reportPath !== '-' && resolve(o.reportPath) === resolve(o.priorPath);
    const writePath = inPlace ? resumingPath(o.reportPath!) : o.reportPath;
    const writer = writePath ? await ReportWriter.open({ path: writePath, format: o.format, inputColumns: o.inputColumns, target: o.target, firstRow: o.firstRow ?? 1, durable: o.durable }) : undefined;
    const failed = o.failed ? await FailedRowsWriter.open(o.failed) : undefined;
    // No in-flight log for a report on stdout: nothing could --resume from it (and "-.inflight" would litter the folder).
    const inflight = o.inflight && writePath && writePath !== '-' ? InflightLog.open(inflightPath(writePath)) : undefined;
    return new Recorder(o, writer, failed, inflight, inPlace ? writePath : null);
  }

  get stopping(): boolean {
    return this.interrupted || !!this.fatal;
  }

  get cause(): StopCause | undefined {
    if (this.fatal) return { kind: 'failed', error: this.fatal };
    return this.interrupted ? { kind: 'interrupted' } : undefined;
  }

  /** Stops the run: no new batches. The first error is the one reported. */
  stop(why: 'interrupt' | CliError): void {
    const first = !this.stopping;
    if (why === 'interrupt') this.interrupted = true;
    else this.fatal ??= why;
    for (const w of this.waiting.splice(0)) w();
    if (first) this.o.onStop?.();
  }

  /** The error of rows left unsent because the run stopped. */
  stopReason(): string {
    const c = this.cause;
    if (c?.kind === 'failed') return `not sent: the run stopped (${c.error.message.split('\n')[0]})`;
    return c ? 'not sent: the run was interrupted' : 'not sent';
  }

  record(outs: RowOutcome[], how: Settled = 'answered'): void {
    let unknown = false;
    for (const out of outs) {
      this.counts[out.status]++;
      if (out.error_code === OUTCOME_UNKNOWN) {
        this.outcomeUnknown++;
        unknown = true;
      }
      if (out.status !== 'ok' && out.error && !(how === 'stopped' && out.status === 'unsent')) this.groups.add(out);
    }
    if (how === 'carried') this.carried += outs.length;
    this.done += outs.length;
    // Rows the tool settles itself may be written in bulk: nothing is lost if they are written again. Not a row
    // still to be checked ("outcome unknown"): a later --resume must find that mark, so it is on disk at once.
    this.writer?.add(outs, (how === 'settled' || how === 'stopped') && !unknown);
    // Not a row whose outcome is unknown: loading the --failed file sends its rows blindly, and that row may have
    // been applied (--resume looks it up first).
    if (this.failedFile) for (const out of outs) if (out.status !== 'ok' && out.error_code !== OUTCOME_UNKNOWN) this.pendingFailed.push(out);
    this.progress();
    if (this.waiting.length && !this.full()) for (const w of this.waiting.splice(0)) w();
  }

  /**
   * The bar redraws 10 times a second and CI lines come every 10-30 s, but rows settled by the tool are recorded one
   * at a time: an update per row made a dry run in a terminal half as fast again. So: when 100 rows were added or
   * 100 ms passed since the last update, and always when forced (the start and the end).
   */
  progress(force = false): void {
    if (!force && this.done - this.shownDone < 100 && this.o.now() - this.shownAt < 100) return;
    this.shownDone = this.done;
    this.shownAt = this.o.now();
    this.o.progress.update({ done: this.done, total: this.o.total, ok: this.counts.ok, failed: this.counts.failed + this.counts.invalid });
  }

  private full(): boolean {
    return !!this.writer && this.writer.buffered >= this.o.window;
  }

  /** Back-pressure: resolves once the report's reorder buffer has room again (or the run stops). */
  async room(): Promise<void> {
    while (!this.stopping && this.full()) await new Promise<void>((r) => this.waiting.push(r));
  }

  /** Writes the failed rows the report has written past (all of them with `all`) to the --failed file. */
  flushFailed(all = false): void {
    if (!this.failedFile) return;
    const upTo = all ? Infinity : (this.writer?.written ?? 0) + (this.o.firstRow ?? 1) - 1;
    const pending = this.pendingFailed;
    pending.sort((a, b) => a.row - b.row);
    let i = 0;
    while (i < pending.length && pending[i]!.row <= upTo) {
      const f = pending[i++]!;
      this.failedFile.add(f.values ?? {}, f.error ?? f.status);
    }
    pending.splice(0, i);
  }

  /**
   * Closes the run's files. `complete`: every row was recorded — the report is finished (and replaces the earlier
   * one it was written beside), the journal and in-flight logs go. Otherwise the report stays as far as it got.
   */
  async close(complete: boolean): Promise<void> {
    this.inflight?.close(complete);
    const target = this.o.reportPath;
    if (complete) {
      this.flushFailed(true);
      await this.writer?.finish();
      await this.failedFile?.finish();
      if (this.beside && target) {
        renameSync(this.beside, target);
        // The earlier report's journal and in-flight log (and those of resumes of it that never finished) belong to
        // the report just replaced.
        for (const f of [`${target}.journal`, inflightPath(target), inflightPath(this.beside)]) rmSync(f, { force: true });
      }
    } else {
      await this.writer?.close();
      if (this.beside) for (const f of [this.beside, `${this.beside}.journal`]) rmSync(f, { force: true });
    }
  }
}
