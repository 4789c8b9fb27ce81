import { describe, expect, it } from 'vitest';
import type { CheckedRow } from '../../src/operations/types.js';
import { notSent, outcome } from '../../src/pipeline/outcome.js';

const row = (extra: Partial<CheckedRow> = {}): CheckedRow => ({ row: 3, values: { a: 1 }, payload: {}, group: '', errors: [], ...extra });

describe('outcome', () => {
  it('lists its keys in the order of the row, then of extra; a key of extra already there keeps its place', () => {
    const o = outcome(row({ detail: 'resolved x', action: 'update', before: { a: 0 } }), 'ok', { id: 7, action: 'create', error_code: undefined });
    expect(Object.keys(o)).toEqual(['row', 'status', 'values', 'detail', 'action', 'before', 'id', 'error_code']);
    expect(o).toEqual({ row: 3, status: 'ok', values: { a: 1 }, detail: 'resolved x', action: 'create', before: { a: 0 }, id: 7, error_code: undefined });
    expect('error_code' in o).toBe(true); // an undefined value in extra is copied, as a spread copies it
  });

  it("takes extra's detail instead of the row's, in extra's place", () => {
    const o = outcome(row({ detail: 'resolved x' }), 'unsent', { error: 'e', detail: 'resolved x; dry run' });
    expect(Object.keys(o)).toEqual(['row', 'status', 'values', 'error', 'detail']);
    expect(o.detail).toBe('resolved x; dry run');
  });

  it('leaves out what the row does not have', () => {
    expect(outcome(row(), 'invalid', { error: 'bad' })).toEqual({ row: 3, status: 'invalid', values: { a: 1 }, error: 'bad' });
    expect(Object.keys(outcome(row(), 'unsent'))).toEqual(['row', 'status', 'values']);
  });

  it('reports a row to be checked first as outcome unknown when it is not sent', () => {
    expect(notSent({ ...row(), verify: true }, { detail: 'dry run' })).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    expect(notSent(row(), { detail: 'dry run' })).toEqual({ row: 3, status: 'unsent', values: { a: 1 }, detail: 'dry run' });
  });
});
