/**
 * resume: every row of the --resume decision table (docs/reliability.md, "--resume: which rows are sent, which are
 * looked up first"), and --retry-failed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RowOutcome, RowStatus } from '../../src/core/types.js';
import type { PriorReport } from '../../src/report/prior.js';
import { inflightPath, resumingPath } from '../../src/pipeline/inflight.js';
import { Resume } from '../../src/pipeline/resume.js';
import { fingerprint } from '../../src/report/fingerprint.js';
import { rec } from '../support/pipeline-fakes.js';

/** An earlier report in memory; `stored: false` plays a row whose error did not fit the error budget. */
function prior(rows: Array<RowOutcome & { stored?: boolean }>): PriorReport {
  const by = new Map(rows.map((r) => [r.row, r]));
  return {
    statusOf: (row) => by.get(row)?.status,
    outcome: (row) => {
      const r = by.get(row);
      if (!r || r.stored === false) return undefined;
      const { stored: _, ...o } = r;
      return o;
    },
    rows: by.size,
    maxRow: Math.max(0, ...by.keys()),
    counts: { ok: 0, failed: 0, invalid: 0, unsent: 0, unchanged: 0 },
    // A report of a version before fingerprints: rows are matched by number.
    fingerprinted: false,
    fingerprintOf: () => undefined,
    rowsWith: () => [],
  };
}

const report = prior([
  { row: 1, status: 'ok', id: 11 },
  { row: 2, status: 'failed', error_code: 'outcome_unknown', error: 'no clear answer' },
  { row: 3, status: 'failed', error_code: 'protocol', error: 'the answer skipped this row' },
  { row: 4, status: 'failed', error_code: 1199014, error: 'duplicated' },
  { row: 5, status: 'unsent', error: 'not sent: the run was interrupted' },
  { row: 6, status: 'invalid', error: 'port_count: expected an integer' },
  { row: 7, status: 'failed', error_code: 'outcome_unknown', stored: false },
  { row: 8, status: 'failed', error_code: 'outcome_unknown', stored: false },
  { row: 9, status: 'failed', error_code: 1199014, error: 'duplicated' },
  // rows 10, 11, 12: not in the report (the run was killed)
]);
const resume = (retryFailed = false) =>
  new Resume({ prior: report, priorInflight: new Set([7, 10, 12]), resumedInflight: new Set([9, 12]), retryFailed });

describe('--resume decision table', () => {
  const r = resume();
  // [row, what the earlier report and logs say, skip (copied), verify before sending (a reconcile operation)]
  const table: Array<[number, string, boolean, boolean]> = [
    [1, 'ok: copied, not sent', true, false],
    [10, 'nothing, and on the wire (in-flight log): looked up first', false, true],
    [11, 'nothing, not on the wire: sent', false, false],
    [2, 'failed / outcome_unknown: looked up first', false, true],
    [3, 'failed / protocol (the answer skipped the row): looked up first', false, true],
    [4, 'failed with a clear refusal: sent as it is', false, false],
    [5, 'unsent: sent', false, false],
    [6, 'invalid: checked and sent again (--resume)', false, false],
    [7, 'failed, error not stored, on the wire: looked up first', false, true],
    [8, 'failed, error not stored, not on the wire: sent', false, false],
    [9, 'a clear refusal, but a later resume sent it and never finished: looked up first', false, true],
    [12, 'nothing in the report, sent by the earlier run and by an unfinished resume: looked up first', false, true],
  ];
  it.each(table)('row %i — %s', (row, _what, skip, verify) => {
    expect(r.skip(rec(row))).toBe(skip);
    expect(r.mayBeApplied(row, 'reconcile')).toBe(verify);
    // An operation whose rows are simply sent again never looks up.
    expect(r.mayBeApplied(row, 'resend')).toBe(false);
  });

  it('a copied row keeps its earlier outcome, with the values read now', () => {
    expect(r.carry(rec(1, { name: 'x' }))).toEqual({ row: 1, status: 'ok', id: 11, values: { name: 'x' }, detail: 'from the earlier report' });
  });

  it('no earlier run: nothing skipped, nothing looked up', () => {
    const none = Resume.none();
    expect([1, 2, 10].map((row) => [none.skip(rec(row)), none.mayBeApplied(row, 'reconcile')])).toEqual([[false, false], [false, false], [false, false]]);
  });
});

describe('--retry-failed', () => {
  const r = resume(true);
  it.each<[number, RowStatus, boolean]>([
    [1, 'ok', true],
    [6, 'invalid', true],
    [2, 'failed', false],
    [4, 'failed', false],
    [5, 'unsent', false],
  ])('row %i (%s): skipped = %s', (row, _status, skip) => {
    expect(r.skip(rec(row))).toBe(skip);
  });

  it('an invalid row is carried with its reason', () => {
    expect(r.carry(rec(6, { port_count: 'x' }))).toMatchObject({ row: 6, status: 'invalid', error: 'port_count: expected an integer', detail: 'from the earlier report' });
  });
});

describe('Resume.read: the report, its journal and both in-flight logs on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-resume-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what an earlier (killed) run and an unfinished resume of it left', async () => {
    const path = join(dir, 'r.ndjson');
    writeFileSync(path, ['{"row":1,"status":"ok","id":5}', '{"row":2,"status":"failed","error_code":1199014,"error":"dup"}'].join('\n') + '\n');
    writeFileSync(`${path}.journal`, '{"row":4,"status":"failed","error_code":"outcome_unknown","error":"x"}\n');
    writeFileSync(inflightPath(path), '[3]\n[4]\n[5');
    writeFileSync(inflightPath(resumingPath(path)), '[2]\n');
    const r = await Resume.read(path, false);
    expect([1, 2, 3, 4, 5, 6].map((row) => [row, r.skip(rec(row)), r.mayBeApplied(row, 'reconcile')])).toEqual([
      [1, true, false],
      [2, false, true], // refused, but sent again by the resume that never finished
      [3, false, true], // on the wire, no answer in the report
      [4, false, true], // outcome unknown (from the journal)
      [5, false, false], // the torn last line of the in-flight log is ignored
      [6, false, false],
    ]);
  });
});

describe('rows matched by content (the report carries fingerprints)', () => {
  /** An earlier report made from `values` (one row each), with these statuses. */
  function fingerprinted(rows: Array<{ values: Record<string, unknown>; status: RowStatus; id?: number }>): PriorReport {
    const hashes = rows.map((r) => fingerprint(r.values));
    return {
      statusOf: (row) => rows[row - 1]?.status,
      outcome: (row) => (rows[row - 1] ? { row, status: rows[row - 1]!.status, ...(rows[row - 1]!.id ? { id: rows[row - 1]!.id } : {}) } : undefined),
      rows: rows.length,
      maxRow: rows.length,
      counts: { ok: 0, failed: 0, invalid: 0, unsent: 0, unchanged: 0 },
      fingerprinted: true,
      fingerprintOf: (row) => hashes[row - 1],
      rowsWith: (h) => hashes.flatMap((x, i) => (x === h ? [i + 1] : [])),
    };
  }
  const v = (name: string) => ({ name });
  const earlier = fingerprinted([
    { values: v('a'), status: 'ok', id: 1 },
    { values: v('b'), status: 'ok', id: 2 },
    { values: v('c'), status: 'unsent' },
    { values: v('d'), status: 'failed' },
  ]);
  const resumeOf = (prior: PriorReport) => new Resume({ prior, priorInflight: new Set(), resumedInflight: new Set(), retryFailed: false });

  it('the first line removed: each row is what the earlier row with its content says, not its number', () => {
    const r = resumeOf(earlier);
    const input = [rec(1, v('b')), rec(2, v('c')), rec(3, v('d'))];
    expect(input.map((x) => r.skip(x))).toEqual([true, false, false]);
    expect(r.carry(input[0]!)).toMatchObject({ row: 1, status: 'ok', id: 2, detail: 'from row 2 of the earlier report' });
    expect(r.verdict('r.csv', 3)).toBeUndefined();
  });

  it('a row edited since (the earlier one failed) is sent as it is now, and said so', () => {
    const r = resumeOf(earlier);
    const input = [rec(1, v('a')), rec(2, v('b')), rec(3, v('c')), rec(4, v('d fixed'))];
    expect(input.map((x) => r.skip(x))).toEqual([true, true, false, false]);
    expect(r.verdict('r.csv', 4)).toBe('1 row(s) changed since the earlier report (row 4): sent as the file has them now');
  });

  it('a row whose earlier row was ok, changed: the report is refused, naming the row', () => {
    const r = resumeOf(earlier);
    for (const x of [rec(1, v('a')), rec(2, v('B!'))]) r.skip(x);
    expect(() => r.verdict('r.csv', 2)).toThrow(/r\.csv was not made from this input: row 2: the earlier report's row 2 is ok \(id 2\)/);
  });

  it("another file's report: nothing in common is refused", () => {
    const r = resumeOf(fingerprinted([{ values: v('x'), status: 'unsent' }]));
    r.skip(rec(1, v('y')));
    expect(() => r.verdict('r.csv', 1)).toThrow(/no row of the input has the content of any row of the report/);
  });

  it('two identical rows take two earlier rows, not one twice', () => {
    const r = resumeOf(fingerprinted([{ values: v('s'), status: 'ok', id: 7 }, { values: v('s'), status: 'unsent' }]));
    expect([r.skip(rec(1, v('s'))), r.skip(rec(2, v('s')))]).toEqual([true, false]);
  });
});
