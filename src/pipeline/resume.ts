/**
 * What an earlier run says about each row (--resume / --retry-failed): its report (with the journal) and the
 * in-flight logs. Three decisions per row: skip it (settled before), carry its earlier outcome into the new report,
 * and whether it may have been applied without the earlier run knowing (then it is reconciled before it is sent).
 * The table these decisions implement is in docs/reliability.md ("--resume: which rows are sent").
 */
import type { InputRecord, RowOutcome } from '../core/types.js';
import type { UnclearRule } from '../operations/types.js';
import { readPriorReport, type PriorReport } from '../report/prior.js';
import { InflightLog, inflightPath, resumingPath } from './inflight.js';
import { OUTCOME_UNKNOWN } from './outcome.js';

export interface ResumeFacts {
  prior?: PriorReport;
  /** Rows on the wire in the run that wrote the earlier report, when it ended without their answer. */
  priorInflight: Set<number>;
  /** Rows sent by a later --resume of that report that never finished (so the report predates their sending). */
  resumedInflight: Set<number>;
  /** --retry-failed (rows the earlier report has as invalid are carried too, not only ok ones). */
  retryFailed: boolean;
}

export class Resume {
  constructor(private readonly f: ResumeFacts) {}

  /** No earlier run: every row is new. */
  static none(): Resume {
    return new Resume({ priorInflight: new Set(), resumedInflight: new Set(), retryFailed: false });
  }

  /** Reads the earlier report at `priorPath` and the in-flight logs beside it. */
  static async read(priorPath: string, retryFailed: boolean): Promise<Resume> {
    return new Resume({
      prior: await readPriorReport(priorPath),
      priorInflight: InflightLog.read(inflightPath(priorPath)),
      resumedInflight: InflightLog.read(inflightPath(resumingPath(priorPath))),
      retryFailed,
    });
  }

  /** --resume skips the rows the earlier report has as ok; --retry-failed also skips its invalid rows. */
  skip(row: number): boolean {
    if (!this.f.prior) return false;
    const s = this.f.prior.statusOf(row);
    if (s === 'ok') return true;
    return this.f.retryFailed && s !== 'failed' && s !== 'unsent';
  }

  /** A skipped row's outcome for the new report: the earlier one, unchanged. */
  carry(rec: InputRecord): RowOutcome {
    const before = this.f.prior!.outcome(rec.row);
    const status = this.f.prior!.statusOf(rec.row)!;
    return { ...(before ?? {}), row: rec.row, status, values: rec.values, detail: before?.detail ?? 'from the earlier report' };
  }

  /**
   * May an earlier run have applied this row without knowing? Yes when its report says "outcome unknown", or when
   * the row was in a batch on the wire (the in-flight log) and the report has no answer for it (killed before the
   * answer came). A row the server clearly refused (a duplicate, a bad value) was not applied: it is sent as it is,
   * not looked up (a look-up would find the other record that holds its key). Rows of a `resend` operation are
   * simply sent again.
   */
  mayBeApplied(row: number, rule: UnclearRule): boolean {
    if (rule === 'resend') return false;
    const { prior, priorInflight, resumedInflight } = this.f;
    const status = prior?.statusOf(row);
    if (status === 'ok') return false;
    // Sent after the report was written, by a resume that never finished: what the report says is out of date.
    if (resumedInflight.has(row)) return true;
    if (status === undefined) return priorInflight.has(row);
    if (status !== 'failed') return false;
    const before = prior!.outcome(row);
    // No stored outcome (a huge report's error budget ran out) for a row that was on the wire: unsure, so check.
    if (!before) return priorInflight.has(row);
    return before.error_code === OUTCOME_UNKNOWN || before.error_code === 'protocol';
  }
}
