/**
 * The in-flight log: before a batch of an operation whose unclear answers are reconciled (creates, deletes) is sent,
 * its row numbers are appended here (synchronously). A run killed with SIGKILL leaves rows that were sent but never
 * answered; `--resume` reads this log and reconciles those rows before sending them again, so a kill never causes a
 * duplicate create.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export class InflightLog {
  private constructor(
    readonly path: string,
    private fd: number | null,
  ) {}

  static open(path: string): InflightLog {
    return new InflightLog(path, openSync(path, 'a', 0o600));
  }

  mark(rows: number[]): void {
    if (this.fd !== null) writeSync(this.fd, JSON.stringify(rows) + '\n');
  }

  /** Closes; `remove` once the report is complete and the log has no more use. */
  close(remove: boolean): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (remove) rmSync(this.path, { force: true });
  }

  /** Every row an earlier run marked as sent. A torn last line (killed mid-write) is ignored. */
  static read(path: string): Set<number> {
    const rows = new Set<number>();
    if (!existsSync(path)) return rows;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        for (const r of JSON.parse(line) as number[]) rows.add(r);
      } catch {
        /* torn write at the moment of the kill */
      }
    }
    return rows;
  }
}

export const inflightPath = (reportPath: string) => `${reportPath}.inflight`;

/** Where --resume writes the new report (and its in-flight log) until it is complete and replaces the earlier one. */
export const resumingPath = (reportPath: string) => `${reportPath}.resuming`;
