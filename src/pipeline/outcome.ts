/** The words the pipeline's stages share: a row waiting to be sent, and how its outcome is written. */
import type { RowOutcome, RowStatus } from '../core/types.js';
import type { CheckedRow } from '../operations/types.js';

/** error_code of rows whose request may or may not have been applied. */
export const OUTCOME_UNKNOWN = 'outcome_unknown';

/** A row waiting in a batch; `verify`: an earlier run may have applied it, so it is reconciled before it is sent. */
export type Pending = CheckedRow & { verify?: boolean };

/**
 * The outcome of a checked row. Built by assignment, not by spreading `extra` and three conditional objects (four
 * objects made and copied per row, a million times in a dry run): the same keys in the same order — assigning a
 * key already there keeps its place, as a spread does.
 */
export function outcome(r: CheckedRow, status: RowStatus, extra: Partial<RowOutcome> = {}): RowOutcome {
  const o: RowOutcome = { row: r.row, status, values: r.values };
  if (r.detail && !extra.detail) o.detail = r.detail;
  if (r.action !== undefined) o.action = r.action;
  if (r.before !== undefined) o.before = r.before;
  for (const k in extra) (o as unknown as Record<string, unknown>)[k] = (extra as Record<string, unknown>)[k];
  return o;
}

/**
 * A row this run does not send. Unsent, unless an earlier run may have applied it (it was to be checked first):
 * then it stays "outcome unknown", so that the next --resume still checks it before sending it.
 */
export function notSent(r: Pending, extra: Partial<RowOutcome>): RowOutcome {
  if (!r.verify) return outcome(r, 'unsent', extra);
  return outcome(r, 'failed', {
    error_code: OUTCOME_UNKNOWN,
    error: 'an earlier run sent this row and never learnt whether it was applied; not checked yet (this run did not send): --resume checks it first',
  });
}
