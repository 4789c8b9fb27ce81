/** Summary wording for the cases a person meets: dry runs, runs blocked by invalid rows, stopped runs. */
import { describe, expect, it } from 'vitest';
import { formatSummary, markdownSummary, type RunSummary } from '../../src/report/summary.js';

const base: RunSummary = {
  command: 'create-inst',
  total: 25,
  ok: 0,
  failed: 0,
  invalid: 0,
  unsent: 25,
  requests: 1,
  retries: 0,
  duration_ms: 200,
  report: 'r.csv',
  exit_code: 0,
};
const text = (s: Partial<RunSummary>) => formatSummary({ ...base, ...s }, { color: false });

describe('dry run', () => {
  it('counts rows ready to send and planned batches, and does not ask to fix rows when none are invalid', () => {
    const t = text({ dry_run: true, batches: 1 });
    expect(t).toContain('create-inst (dry run, nothing sent): 25 rows in 200 ms');
    expect(t).toContain('  25 ready to send · 0 invalid\n');
    expect(t).toContain('1 batch planned');
    expect(t).not.toMatch(/unsent|fix/i);
    expect(t.trimEnd().split('\n').at(-1)).toBe('Every row passed the checks: run again without --dry-run to send them.');
  });

  it('with invalid rows: fix them, or send the valid ones', () => {
    expect(text({ dry_run: true, unsent: 20, invalid: 5, exit_code: 2 }).trimEnd().split('\n').at(-1)).toBe(
      'Fix the invalid rows (see the plan), then run again without --dry-run.',
    );
    expect(text({ dry_run: true, unsent: 20, invalid: 5, exit_code: 0 }).trimEnd().split('\n').at(-1)).toMatch(/--skip-invalid/);
  });

  it('the Markdown heading counts rows ready to send, not "0 ok"', () => {
    expect(markdownSummary({ ...base, dry_run: true })).toMatch(/^### cmdb-bulk create-inst \(dry run, nothing sent\): 25 of 25 rows ready to send\n/);
    expect(markdownSummary({ ...base, ok: 25, unsent: 0 })).toMatch(/^### cmdb-bulk create-inst: 25 of 25 rows ok\n/);
  });
});

describe('a run blocked by invalid rows', () => {
  it('points at the --failed file when there is one', () => {
    const s = { unsent: 20, invalid: 5, exit_code: 2 };
    expect(text(s)).toContain('Nothing was sent. Next: Fix the invalid rows (see the report), or send the valid ones with --skip-invalid.');
    expect(text({ ...s, failed_file: 'fix.csv' })).toContain('Nothing was sent. Next: Fix the invalid rows in fix.csv and load that file (it has every row), or send the valid ones with --skip-invalid.');
  });
});

describe('groups', () => {
  it('says how many rows are in causes not listed only when the list was cut', () => {
    const groups = Array.from({ length: 10 }, (_, i) => ({ error: `cause ${i}`, count: 2, rows: [i * 2 + 1, i * 2 + 2] }));
    expect(text({ failed: 25, unsent: 0, exit_code: 3, groups })).toContain('(5 more rows with other causes: see the report)');
    expect(text({ failed: 20, unsent: 5, exit_code: 3, groups })).not.toContain('more rows');
    expect(text({ failed: 2, unsent: 23, exit_code: 130, groups: groups.slice(0, 1) })).not.toContain('more rows');
  });
});

describe('a run stopped by its settings', () => {
  it('keeps the lines of a multi-line error, and asks to fix the settings before --resume', () => {
    const t = text({
      exit_code: 4,
      error: 'CMDB is not configured; missing:\n  - app code: env BK_APP_CODE\n  - app secret: env BK_APP_SECRET\nsee docs/configuration.md',
    });
    expect(t).toContain('  error: CMDB is not configured; missing:\n    - app code: env BK_APP_CODE\n    - app secret: env BK_APP_SECRET\n    see docs/configuration.md\n');
    expect(t.trimEnd().split('\n').at(-1)).toBe(
      'Next: Fix the settings or credentials (cmdb-bulk config check shows what is in effect and tries them), then finish the run with --resume r.csv.',
    );
    expect(t).not.toContain('--retry-failed');
  });
});

describe('every Next: line is safe to follow as it is', () => {
  it('rows with an unknown outcome: --resume looks them up; the --failed file is offered only for the rest, and says they are not in it', () => {
    const t = text({ failed: 10, unsent: 5, outcome_unknown: 10, exit_code: 3, failed_file: 'fix.csv' });
    expect(t).toContain('Next: 10 rows may have been applied (outcome unknown): --resume r.csv looks them up on the server before sending anything.');
    expect(t).toContain('Fix the rows in fix.csv and load that file (the rows with an unknown outcome are not in it), or send the failed and unsent rows again with --retry-failed r.csv.');
    // Only unknown rows: nothing in the --failed file to load, nothing to --retry-failed blindly.
    const only = text({ failed: 10, unsent: 0, outcome_unknown: 10, exit_code: 3, failed_file: 'fix.csv' });
    expect(only).not.toMatch(/load that file|--retry-failed/);
  });

  it('a create run twice: an update by the key (or sync), never --retry-failed', () => {
    const t = text({ failed: 25, unsent: 0, duplicates: 25, key: 'bk_asset_id', exit_code: 3 });
    expect(t).toContain('Next: 25 rows already exist on the server (a unique value is taken): to give them the file\'s values use update-inst … --key bk_asset_id (or sync … --key bk_asset_id) with the same file; --retry-failed would fail the same way.');
    expect(t).not.toMatch(/again with --retry-failed/);
    expect(text({ command: 'apaas-create', failed: 1, unsent: 0, duplicates: 1, key: 'serial', exit_code: 3 })).toContain('use apaas-update … --key serial (or apaas-sync … --key serial)');
    // Some rows failed for other reasons too: those may be retried, and it is said which would fail again.
    expect(text({ failed: 5, unsent: 0, duplicates: 2, key: 'bk_asset_id', exit_code: 3 })).toContain('--retry-failed r.csv (the rows that already exist would fail again)');
  });

  it('rows the tool does not do (revert of a created host): what to do in CMDB, never --retry-failed for them', () => {
    const hostRow = { error_code: 'not_supported', error: 'host 1026, created by the run, is not deleted: … Next: delete it in CMDB', count: 2, rows: [4, 5] };
    const t = text({ command: 'revert', total: 5, ok: 3, failed: 2, unsent: 0, exit_code: 3, groups: [hostRow] });
    expect(t).toContain('Next: 2 rows cannot be done by cmdb-bulk: the error says what to do in CMDB itself.');
    expect(t).not.toContain('--retry-failed');
    const conflict = { error_code: 'conflict', error: 'changed since the run', count: 1, rows: [6] };
    expect(text({ command: 'revert', total: 6, ok: 3, failed: 3, unsent: 0, exit_code: 3, groups: [hostRow, conflict] })).toContain('Send the failed and unsent rows again with --retry-failed r.csv');
  });

  it('an input with no rows: nothing to do', () => {
    expect(text({ total: 0, unsent: 0 })).toContain('Nothing to do: the input has no rows.');
  });

  it('a dry run names its plan, not a report', () => {
    const t = text({ dry_run: true, report: null, plan: 'x.plan.csv' });
    expect(t).toContain('plan: x.plan.csv (nothing was sent; not a report)');
    expect(t).not.toContain('report:');
  });
});
