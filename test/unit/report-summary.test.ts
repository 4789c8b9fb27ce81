import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ErrorGroups,
  appendStepSummary,
  fmtDuration,
  fmtInt,
  formatSummary,
  markdownSummary,
  normaliseMessage,
  type RunSummary,
} from '../../src/report/summary.js';
import { SUMMARY_SCHEMA, validate } from '../support/summary-schema.js';

const ESC = '\x1b[';

function groupsOf(n: number): ErrorGroups {
  const g = new ErrorGroups();
  for (let i = 1; i <= n; i++) {
    g.add({ row: i * 3, status: 'failed', error_code: 1199014, error: `Data uniqueness check failed, [bk_asset_id: SW-${i}] duplicated` });
  }
  g.add({ row: 2, status: 'invalid', error: 'port_count: expected an integer, got "abc"' });
  g.add({ row: 5, status: 'invalid', error: 'port_count: expected an integer, got "4x"' });
  g.add({ row: 7, status: 'ok', id: 1 });
  g.add({ row: 8, status: 'unsent' });
  g.add({ row: 9, status: 'unsent', error: 'interrupted' });
  return g;
}

const base: RunSummary = {
  command: 'create-inst',
  total: 1000,
  ok: 880,
  failed: 112,
  invalid: 5,
  unsent: 3,
  requests: 6,
  retries: 1,
  duration_ms: 12_345,
  report: 'switches.create-inst.report.csv',
  exit_code: 3,
};

describe('normaliseMessage / ErrorGroups', () => {
  it('replaces values so messages of one cause match', () => {
    expect(normaliseMessage('Data uniqueness check failed, [bk_asset_id: SW-1] duplicated')).toBe(
      normaliseMessage('Data uniqueness check failed, [bk_asset_id: test_002] duplicated'),
    );
    expect(normaliseMessage("'[bk_process_id: 12,34]' the parameter is invalid")).toBe(
      normaliseMessage("'[bk_process_id: 7]' the parameter is invalid"),
    );
    expect(normaliseMessage('line 12: 5 cells, the header has 7')).toBe('line #: # cells, the header has #');
    expect(normaliseMessage('bk_inst_id=42 not found')).toBe(normaliseMessage('bk_inst_id=abc not found'));
    // Different causes stay apart.
    expect(normaliseMessage('[bk_asset_id: A] duplicated')).not.toBe(normaliseMessage('[bk_sn: A] duplicated'));
  });

  it('groups by code and normalised message, keeps the first 5 rows and one example', () => {
    const list = groupsOf(112).list();
    expect(list).toHaveLength(3);
    expect(list[0]).toEqual({
      error_code: 1199014,
      error: 'Data uniqueness check failed, [bk_asset_id: SW-1] duplicated',
      count: 112,
      rows: [3, 6, 9, 12, 15],
    });
    expect(list[1]).toEqual({ error: 'port_count: expected an integer, got "abc"', count: 2, rows: [2, 5] });
    expect(list[2]).toEqual({ error: 'interrupted', count: 1, rows: [9] });
    expect(groupsOf(3).list(1)).toHaveLength(1);
  });

  it('rows without an error (dry run, unsent) are not a cause; unsent rows with their own error are', () => {
    const g = new ErrorGroups();
    g.add({ row: 1, status: 'unsent' });
    g.add({ row: 2, status: 'ok', error: 'ignored' });
    g.add({ row: 3, status: 'unsent', error: 'batch abandoned after 5 retries: 503' });
    expect(g.list()).toEqual([{ error: 'batch abandoned after 5 retries: 503', count: 1, rows: [3] }]);
  });

  it('the same message under different codes is two groups', () => {
    const g = new ErrorGroups();
    g.add({ row: 1, status: 'failed', error_code: 1, error: 'x' });
    g.add({ row: 2, status: 'failed', error_code: 2, error: 'x' });
    expect(g.list()).toHaveLength(2);
  });

  it('keeps memory bounded when messages never repeat', () => {
    const g = new ErrorGroups();
    const words = (i: number) => i.toString(26).replace(/\d/g, (d) => String.fromCharCode(97 + Number(d)));
    for (let i = 0; i < 5000; i++) g.add({ row: i + 1, status: 'failed', error: `unique ${words(i)} message` });
    const list = g.list();
    expect(list.length).toBeLessThanOrEqual(1001);
    expect(list.reduce((n, x) => n + x.count, 0)).toBe(5000);
  });
});

describe('formatSummary', () => {
  it('has the counts, duration, requests, report and the failures by cause', () => {
    const text = formatSummary({ ...base, groups: groupsOf(112).list() }, { color: false });
    expect(text).not.toContain(ESC);
    expect(text).toContain('1,000 rows in 12.3 s');
    expect(text).toContain('880 ok · 112 failed · 5 invalid · 3 unsent');
    expect(text).toContain('6 requests, 1 retry');
    expect(text).toContain('report: switches.create-inst.report.csv');
    expect(text).toContain('Failures by cause:');
    expect(text).toMatch(/112 rows {2}\[1199014\] Data uniqueness check failed, \[bk_asset_id: SW-1\] duplicated {2}\(rows 3, 6, 9, 12, 15, …\)/);
    expect(text).toContain('(row 9)');
    expect(text).toContain('--retry-failed switches.create-inst.report.csv');
  });

  it('suggests the next step that fits the outcome', () => {
    const hint = (x: Partial<RunSummary>) => formatSummary({ ...base, ...x }, { color: false }).trimEnd().split('\n').pop();
    expect(hint({ exit_code: 130, error: 'interrupted' })).toBe(
      'Next: Finish the run with --resume switches.create-inst.report.csv, or fix the invalid rows (--failed <file> writes the rows to fix, ready to load again).',
    );
    expect(hint({ failed_file: 'fix.csv' })).toBe(
      'Next: Fix the rows in fix.csv and load that file, or send the failed and unsent rows again with --retry-failed switches.create-inst.report.csv.',
    );
    expect(hint({ exit_code: 2, ok: 0, failed: 0, unsent: 0, invalid: 7 })).toContain('--skip-invalid');
    expect(hint({ report: null, invalid: 0 })).toBe('Fix the rows that are not ok and run again.');
  });

  it('colours counts only when asked', () => {
    const text = formatSummary(base, { color: true });
    expect(text).toContain(ESC);
    expect(text.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatSummary(base, { color: false }));
  });

  it('points at the failed-rows file, shows extras, dry runs and errors', () => {
    const text = formatSummary(
      { ...base, failed_file: 'failed.csv', splits: 2, rate_limited: 3, rate_limit_wait_ms: 4100, already_existed: 7, error: 'interrupted' },
      { color: false },
    );
    expect(text).toContain('failed rows: failed.csv');
    expect(text).toContain('Fix the rows in failed.csv');
    expect(text).toContain('2 batches split');
    expect(text).toContain('3 rate-limit answers (429, waited 4.1 s)');
    expect(text).toContain('7 rows already existed');
    expect(text).toContain('error: interrupted');
    const dry = formatSummary({ ...base, dry_run: true, ok: 995, failed: 0, unsent: 0 }, { color: false });
    expect(dry).toContain('dry run, nothing sent');
    expect(dry).toContain('without --dry-run');
  });

  it('does not repeat a code the message already starts with', () => {
    const g = new ErrorGroups();
    g.add({ row: 1, status: 'failed', error_code: 1199014, error: '[1199014] Data uniqueness check failed, [bk_asset_id: A] duplicated' });
    const text = formatSummary({ ...base, groups: g.list() }, { color: false });
    expect(text).toContain('1 row  [1199014] Data uniqueness check failed');
    expect(text).not.toContain('[1199014] [1199014]');
  });

  it('a dry run counts rows ready to send and says what to do', () => {
    const ready = formatSummary({ ...base, dry_run: true, ok: 0, failed: 0, invalid: 0, unsent: 1000, requests: 0, exit_code: 0, batches: 5 }, { color: false });
    expect(ready).toContain('create-inst (dry run, nothing sent): 1,000 rows');
    expect(ready).toContain('1,000 ready to send · 0 invalid');
    expect(ready).toContain('5 batches planned');
    expect(ready).toContain('run again without --dry-run');
    const bad = formatSummary({ ...base, dry_run: true, ok: 0, failed: 0, invalid: 3, unsent: 997, exit_code: 2 }, { color: false });
    expect(bad).toContain('997 ready to send · 3 invalid');
    expect(bad).toContain('Fix the invalid rows');
    expect(markdownSummary({ ...base, dry_run: true, unsent: 997 })).toContain('997 of 1,000 rows ready to send');
  });

  it('has no next step when every row is ok', () => {
    const text = formatSummary({ ...base, ok: 1000, failed: 0, invalid: 0, unsent: 0, exit_code: 0 }, { color: false });
    expect(text).not.toContain('Next');
    expect(text).not.toContain('Failures');
  });

  it('formats numbers and durations', () => {
    expect(fmtInt(1234567)).toBe('1,234,567');
    expect(fmtInt(12)).toBe('12');
    expect(fmtDuration(850)).toBe('850 ms');
    expect(fmtDuration(245_000)).toBe('4 min 5 s');
    expect(fmtDuration(3_720_000)).toBe('1 h 2 min');
  });
});

describe('markdownSummary / appendStepSummary', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-summary-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has a heading, a counts table and a failures table with escaped cells', () => {
    const g = groupsOf(2);
    g.add({ row: 40, status: 'failed', error_code: 9, error: 'a | b <script>' });
    const md = markdownSummary({ ...base, groups: g.list() });
    expect(md).toMatch(/^### cmdb-bulk create-inst: 880 of 1,000 rows ok\n/);
    expect(md).toContain('| status | rows |\n|---|---:|\n| ok | 880 |\n| failed | 112 |\n| invalid | 5 |\n| unsent | 3 |');
    expect(md).toContain('| rows | code | error | first rows |');
    expect(md).toContain('| 2 | 1199014 | Data uniqueness check failed, [bk_asset_id: SW-1] duplicated | 3, 6 |');
    expect(md).toContain('| 1 | 9 | a \\| b &lt;script&gt; | 40 |');
  });

  it('appends to $GITHUB_STEP_SUMMARY, and does nothing without it', () => {
    const file = path.join(dir, 'step-summary.md');
    fs.writeFileSync(file, '# earlier step\n');
    appendStepSummary(base, { GITHUB_STEP_SUMMARY: file });
    appendStepSummary({ ...base, command: 'associate' }, { GITHUB_STEP_SUMMARY: file });
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('# earlier step\n### cmdb-bulk create-inst')).toBe(true);
    expect(text).toContain('### cmdb-bulk associate');
    appendStepSummary(base, {});
    expect(fs.readdirSync(dir)).toEqual(['step-summary.md']);
    // An unwritable summary file never breaks the run.
    expect(() => appendStepSummary(base, { GITHUB_STEP_SUMMARY: path.join(dir, 'nope', 'x.md') })).not.toThrow();
  });
});


describe('docs/summary.schema.json', () => {
  const schema = SUMMARY_SCHEMA;

  it('is draft 2020-12 and requires the contract keys', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['command', 'total', 'ok', 'failed', 'invalid', 'unsent', 'requests', 'retries', 'duration_ms', 'report', 'exit_code']);
  });

  it('accepts example summaries', () => {
    const examples: RunSummary[] = [
      base,
      { ...base, ok: 1000, failed: 0, invalid: 0, unsent: 0, exit_code: 0, report: null, batches: 5 },
      { ...base, dry_run: true, splits: 0, rate_limited: 2, rate_limit_wait_ms: 1500.5, already_existed: 1, outcome_unknown: 3, failed_file: 'f.csv', error: null, groups: groupsOf(12).list() },
      { ...base, exit_code: 130, error: 'interrupted', failed_file: null, groups: [] },
    ];
    for (const ex of examples) expect(validate(schema, JSON.parse(JSON.stringify(ex)))).toEqual([]);
  });

  it('rejects summaries that break it', () => {
    const { requests: _r, ...noRequests } = base;
    expect(validate(schema, noRequests)).toEqual(['$: missing requests']);
    expect(validate(schema, { ...base, ok: -1 })).toEqual(['$.ok: below 0']);
    expect(validate(schema, { ...base, report: 5 })).toHaveLength(1);
    expect(validate(schema, { ...base, exit_code: 7 })).toHaveLength(1);
    expect(validate(schema, { ...base, groups: [{ error: 'x', count: 1, rows: [1, 2, 3, 4, 5, 6] }] })).toHaveLength(1);
  });
});
