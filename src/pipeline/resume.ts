/**
 * What an earlier run says about each row (--resume / --retry-failed): its report (with the journal) and the
 * in-flight logs. A row is first matched to the earlier report's row with the same content (its fingerprint: the
 * same number first, else any row with that content — rows may have moved when lines were removed), never by its
 * number alone. Then three decisions: skip it (settled before), carry its earlier outcome into the new report,
 * and whether it may have been applied without the earlier run knowing (then it is reconciled before it is sent).
 * The table these decisions implement is in docs/reliability.md ("--resume: which rows are sent"); how rows are
 * matched, and when a report is refused as not this input's, in docs/report.md.
 */
import { UsageError } from '../core/errors.js';
import type { InputRecord, RowOutcome } from '../core/types.js';
import type { UnclearRule } from '../operations/types.js';
import { fingerprint } from '../report/fingerprint.js';
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

/** Rows listed when a report is refused. */
const LISTED = 5;
/** matchOf: not matched yet / no earlier row has this content. */
const UNSEEN = 0;
const NONE = -1;

export class Resume {
  /** Input row → the earlier report's row with its content (or NONE), filled as rows are read. */
  private matchOf = new Int32Array(1024);
  /** Earlier rows already matched to an input row (two identical input rows take two earlier rows). */
  private used = new Uint8Array(1024);
  private matched = 0;
  /** Some row matched an earlier row with another number (lines were removed or added). */
  private moved = false;
  private readonly differs: string[] = [];
  private differing = 0;
  private readonly edited: number[] = [];
  private editedCount = 0;

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

  /** Whether the earlier report has fingerprints to match by (reports of older versions are matched by number). */
  get byContent(): boolean {
    return !!this.f.prior?.fingerprinted;
  }

  /** The earlier report's row with this record's content (undefined: none). The same answer every time it is asked. */
  private match(rec: InputRecord): number | undefined {
    const prior = this.f.prior;
    if (!prior) return undefined;
    const row = rec.row;
    if (row >= this.matchOf.length) this.matchOf = grow(this.matchOf, row);
    const known = this.matchOf[row]!;
    if (known !== UNSEEN) return known === NONE ? undefined : known;
    const p = prior.fingerprinted ? this.byFingerprint(prior, fingerprint(rec.values), row) : prior.statusOf(row) ? row : undefined;
    this.matchOf[row] = p ?? NONE;
    if (p !== undefined) {
      if (p !== row) this.moved = true;
      if (p >= this.used.length) this.used = grow(this.used, p);
      this.used[p] = 1;
      this.matched++;
    } else this.noteUnmatched(row);
    return p;
  }

  private byFingerprint(prior: PriorReport, hash: number, row: number): number | undefined {
    const free = (p: number) => !(p < this.used.length && this.used[p]);
    if (prior.fingerprintOf(row) === hash && free(row)) return row;
    return prior.rowsWith(hash).find(free);
  }

  /**
   * A row no earlier row has the content of. Edited since the earlier run: sent as it is now — unless the earlier row
   * with its number was applied (or may have been): then the file is not the one the report was made from, and
   * sending would apply a second row where the report says one landed.
   */
  private noteUnmatched(row: number): void {
    const prior = this.f.prior!;
    const status = prior.statusOf(row);
    if (status === 'ok' || (status !== undefined && this.earlierMayBeApplied(row))) {
      this.differing++;
      if (this.differs.length < LISTED) {
        const id = prior.outcome(row)?.id;
        const what = status === 'ok' ? `ok${id !== undefined ? ` (id ${id})` : ''}` : 'an unknown outcome';
        this.differs.push(`row ${row}: the earlier report's row ${row} is ${what}, and no row there has this row's content`);
      }
    } else if (status !== undefined) {
      this.editedCount++;
      if (this.edited.length < LISTED) this.edited.push(row);
    }
  }

  /**
   * After every row was read once (pass 1): a report that does not belong to this input is refused (exit 2), naming
   * the first rows that differ. Returns a line about rows edited since the earlier run (sent as they are now), if any.
   */
  verdict(path: string, inputRows: number): string | undefined {
    const prior = this.f.prior;
    if (!prior || !prior.fingerprinted) return undefined;
    const none = this.matched === 0 && prior.rows > 0 && inputRows > 0;
    if (this.differing > 0 || none) {
      const lines = none && this.differing === 0 ? ['no row of the input has the content of any row of the report'] : this.differs;
      const more = this.differing - this.differs.length;
      throw new UsageError(
        `${path} was not made from this input: ${lines.join('\n  ')}${more > 0 ? `\n  … and ${more} more` : ''}`,
        'pass the report of a run of this file (the newest is <input>.<command>.latest.report.<ext>), or run without --resume / --retry-failed',
      );
    }
    if (this.editedCount === 0) return undefined;
    const more = this.editedCount > this.edited.length ? ', …' : '';
    const rows = this.editedCount === 1 ? `row ${this.edited[0]}` : `rows ${this.edited.join(', ')}${more}`;
    return `${this.editedCount} row(s) changed since the earlier report (${rows}): sent as the file has them now`;
  }

  /** --resume skips the rows the earlier report has as ok; --retry-failed also skips its invalid rows. */
  skip(rec: InputRecord): boolean {
    const p = this.match(rec);
    if (p === undefined) return false;
    const s = this.f.prior!.statusOf(p);
    if (s === 'ok') return true;
    return this.f.retryFailed && s !== 'failed' && s !== 'unsent';
  }

  /** A skipped row's outcome for the new report: the earlier one, unchanged (said so when the row has moved). */
  carry(rec: InputRecord): RowOutcome {
    const p = this.match(rec)!;
    const before = this.f.prior!.outcome(p);
    const status = this.f.prior!.statusOf(p)!;
    const from = p === rec.row ? 'from the earlier report' : `from row ${p} of the earlier report`;
    const detail = before?.detail ? (p === rec.row ? before.detail : `${before.detail}; ${from}`) : from;
    return { ...(before ?? {}), row: rec.row, status, values: rec.values, detail };
  }

  /**
   * May an earlier run have applied this row without knowing? Yes when its report says "outcome unknown", or when
   * the row was in a batch on the wire (the in-flight log) and the report has no answer for it (killed before the
   * answer came). A row the server clearly refused (a duplicate, a bad value) was not applied: it is sent as it is,
   * not looked up (a look-up would find the other record that holds its key). Rows of a `resend` operation are
   * simply sent again. `row` is the input's; the earlier row is the one matched by content when it was read.
   */
  mayBeApplied(row: number, rule: UnclearRule): boolean {
    if (rule === 'resend') return false;
    const { prior, priorInflight, resumedInflight } = this.f;
    // Sent after the report was written, by a resume that never finished: what the report says is out of date.
    if (resumedInflight.has(row)) return true;
    if (!prior) return false;
    const known = row < this.matchOf.length ? this.matchOf[row]! : UNSEEN;
    if (known > 0) return resumedInflight.has(known) || this.earlierMayBeApplied(known);
    // No earlier row has its content. A row the report answered was edited since (it is sent as it is now); a row
    // the report has no answer for may be one the earlier run sent and was killed before hearing of: its in-flight
    // log says so by number — by any number once rows have moved.
    if (prior.statusOf(row) !== undefined) return false;
    return priorInflight.has(row) || (this.moved && priorInflight.size > 0);
  }

  /** What the earlier report and its in-flight log say about its row `p`: it may have been applied. */
  private earlierMayBeApplied(p: number): boolean {
    const { prior, priorInflight } = this.f;
    const status = prior!.statusOf(p);
    if (status === 'ok') return false;
    if (status === undefined) return priorInflight.has(p);
    if (status !== 'failed') return false;
    const before = prior!.outcome(p);
    // No stored outcome (a huge report's error budget ran out) for a row that was on the wire: unsure, so check.
    if (!before) return priorInflight.has(p);
    return before.error_code === OUTCOME_UNKNOWN || before.error_code === 'protocol';
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T, at: number): T {
  let n = a.length;
  while (n <= at) n *= 2;
  const bigger = new (a.constructor as new (n: number) => T)(n);
  bigger.set(a);
  return bigger;
}
