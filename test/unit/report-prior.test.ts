import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReportFormat, RowOutcome } from '../../src/core/types.js';
import { ReportWriter } from '../../src/report/writer.js';
import { ERROR_BUDGET_CHARS, readPriorReport } from '../../src/report/prior.js';
import { UsageError } from '../../src/core/errors.js';
import { fingerprint } from '../../src/report/fingerprint.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-prior-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const sample: RowOutcome[] = [
  { row: 1, status: 'ok', id: 101, values: { name: 'a' } },
  { row: 2, status: 'failed', error_code: 1199014, error: 'Data uniqueness check failed, [bk_asset_id: A2] duplicated' },
  { row: 3, status: 'ok', id: 'rec_x3', detail: 'already exists' },
  { row: 4, status: 'invalid', error: 'port_count: expected an integer, got "x,y"' },
  { row: 5, status: 'unsent' },
  { row: 6, status: 'ok', id: '-weird', values: { name: '=cmd' } },
];

async function writeReport(file: string, format: ReportFormat, outcomes = sample): Promise<void> {
  const w = await ReportWriter.open({ path: file, format, inputColumns: ['name'] });
  w.add(outcomes);
  await w.finish();
}

describe('readPriorReport', () => {
  for (const format of ['csv', 'json', 'ndjson'] as const) {
    it(`reads back a finished ${format} report`, async () => {
      const file = path.join(dir, `r.${format}`);
      await writeReport(file, format);
      const prior = await readPriorReport(file);
      expect(prior.rows).toBe(6);
      expect(prior.maxRow).toBe(6);
      expect(prior.counts).toEqual({ ok: 3, failed: 1, invalid: 1, unsent: 1, unchanged: 0 });
      expect([1, 2, 3, 4, 5, 6, 7].map((r) => prior.statusOf(r))).toEqual(['ok', 'failed', 'ok', 'invalid', 'unsent', 'ok', undefined]);
      expect(prior.outcome(1)).toEqual({ row: 1, status: 'ok', id: 101 });
      expect(prior.outcome(3)).toEqual({ row: 3, status: 'ok', id: 'rec_x3', detail: 'already exists' });
      // The CSV report neutralised this id for spreadsheets; reading it back undoes that.
      expect(prior.outcome(6)).toEqual({ row: 6, status: 'ok', id: '-weird' });
      // Rows that are not ok keep their reason (within a budget), so --retry-failed can carry them over.
      expect(prior.outcome(2)).toEqual({ row: 2, status: 'failed', error_code: 1199014, error: sample[1]!.error });
      expect(prior.outcome(4)).toEqual({ row: 4, status: 'invalid', error: sample[3]!.error });
      expect(prior.outcome(5)).toBeUndefined(); // unsent without a message
      expect(prior.outcome(7)).toBeUndefined();
      expect(prior.statusOf(0)).toBeUndefined();
    });
  }

  it('recovers a JSON report cut off mid-way (no closing bracket, half a line)', async () => {
    const file = path.join(dir, 'r.json');
    await writeReport(file, 'json');
    const text = fs.readFileSync(file, 'utf8');
    const cut = text.indexOf('"row":5') + 4; // in the middle of row 5's line
    fs.writeFileSync(file, text.slice(0, cut));
    const prior = await readPriorReport(file);
    expect(prior.rows).toBe(4);
    expect(prior.statusOf(4)).toBe('invalid');
    expect(prior.statusOf(5)).toBeUndefined();
  });

  it('recovers a CSV report cut off inside a quoted cell', async () => {
    const file = path.join(dir, 'r.csv');
    await writeReport(file, 'csv');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, text.indexOf('"x,y') + 3));
    const prior = await readPriorReport(file);
    expect(prior.counts).toEqual({ ok: 2, failed: 1, invalid: 0, unsent: 0, unchanged: 0 });
  });

  it('merges the journal, later entries winning', async () => {
    const file = path.join(dir, 'r.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    w.add([
      { row: 1, status: 'ok', id: 1 },
      { row: 3, status: 'failed', error: 'boom' },
    ]);
    await w.close(); // crash path: the journal stays
    // A later entry for row 3 (and a new row 4) in the journal wins over the report.
    fs.appendFileSync(`${file}.journal`, '{"row":3,"status":"ok","id":33}\n{"row":4,"status":"unsent"}\n');
    const prior = await readPriorReport(file);
    expect(prior.statusOf(3)).toBe('ok');
    expect(prior.outcome(3)).toEqual({ row: 3, status: 'ok', id: 33 });
    expect(prior.counts).toEqual({ ok: 2, failed: 0, invalid: 0, unsent: 1, unchanged: 0 });
    expect(prior.rows).toBe(3);
  });

  it('keeps error messages only within its budget', async () => {
    const file = path.join(dir, 'r.ndjson');
    const huge = 'x'.repeat(ERROR_BUDGET_CHARS - 10);
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ row: 1, status: 'failed', error: huge }),
        JSON.stringify({ row: 2, status: 'failed', error_code: 7, error: 'this one does not fit' }),
        JSON.stringify({ row: 3, status: 'invalid', error: 'short' }),
      ].join('\n') + '\n',
    );
    const prior = await readPriorReport(file);
    expect(prior.outcome(1)?.error).toHaveLength(huge.length);
    expect(prior.outcome(2)).toBeUndefined();
    expect(prior.statusOf(2)).toBe('failed');
    expect(prior.outcome(3)).toEqual({ row: 3, status: 'invalid', error: 'short' });
  });

  it('a journal entry that turns an ok row into a failure drops its id', async () => {
    const file = path.join(dir, 'r.csv');
    await writeReport(file, 'csv', [{ row: 1, status: 'ok', id: 5, detail: 'd' }]);
    fs.writeFileSync(`${file}.journal`, '{"row":1,"status":"failed","error":"x"}\n');
    const prior = await readPriorReport(file);
    expect(prior.statusOf(1)).toBe('failed');
    expect(prior.outcome(1)).toEqual({ row: 1, status: 'failed', error: 'x' });
  });

  it('reads a journal alone when the report is gone, and a half-written last journal line is ignored', async () => {
    const file = path.join(dir, 'r.csv');
    fs.writeFileSync(`${file}.journal`, '{"row":2,"status":"ok","id":2}\n{"row":1,"status":"fai');
    const prior = await readPriorReport(file);
    expect(prior.rows).toBe(1);
    expect(prior.statusOf(2)).toBe('ok');
  });

  it('rejects a corrupt line that is not at the end', async () => {
    const file = path.join(dir, 'r.ndjson');
    fs.writeFileSync(file, '{"row":1,"status":"ok"}\nnot json\n{"row":3,"status":"ok"}\n');
    await expect(readPriorReport(file)).rejects.toThrow(/line 2/);
    fs.writeFileSync(file, '{"row":1,"status":"done"}\n{"row":2,"status":"ok"}\n');
    await expect(readPriorReport(file)).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects a CSV that is not a report', async () => {
    const file = path.join(dir, 'input.csv');
    fs.writeFileSync(file, 'bk_inst_name,bk_asset_id\nsw1,A1\n');
    await expect(readPriorReport(file)).rejects.toThrow(/"row" and "status"/);
  });

  it('says so when there is no report', async () => {
    await expect(readPriorReport(path.join(dir, 'missing.csv'))).rejects.toThrow(/no such file/);
  });

  it('handles a large report with rows far apart', async () => {
    const file = path.join(dir, 'r.ndjson');
    fs.writeFileSync(file, '{"row":1,"status":"ok"}\n{"row":300000,"status":"failed"}\n');
    const prior = await readPriorReport(file);
    expect(prior.maxRow).toBe(300000);
    expect(prior.rows).toBe(2);
    expect(prior.statusOf(300000)).toBe('failed');
    expect(prior.statusOf(299999)).toBeUndefined();
  });
});

describe('readPriorReport: fingerprints and plans', () => {
  for (const format of ['csv', 'json', 'ndjson'] as const) {
    it(`reads each row's fingerprint back (${format}) and finds rows by it`, async () => {
      const file = path.join(dir, `f.${format}`);
      await writeReport(file, format);
      const prior = await readPriorReport(file);
      expect(prior.fingerprinted).toBe(true);
      expect(prior.fingerprintOf(1)).toBe(fingerprint({ name: 'a' }));
      expect(prior.fingerprintOf(6)).toBe(fingerprint({ name: '=cmd' }));
      expect(prior.rowsWith(fingerprint({ name: '=cmd' }))).toEqual([6]);
      // Rows 2-5 have no values: the same (empty) fingerprint.
      expect(prior.rowsWith(fingerprint({}))).toEqual([2, 3, 4, 5]);
      expect(prior.rowsWith(fingerprint({ name: 'zz' }))).toEqual([]);
    });
  }

  it('a report without the column (an older version) is not fingerprinted', async () => {
    const file = path.join(dir, 'old.csv');
    fs.writeFileSync(file, 'row,status,id,error_code,error,detail,name\n1,ok,5,,,,a\n');
    const prior = await readPriorReport(file);
    expect(prior.fingerprinted).toBe(false);
    expect(prior.fingerprintOf(1)).toBeUndefined();
  });

  it('refuses the plan of a dry run: resuming it would send every row again', async () => {
    const file = path.join(dir, 'x.plan.csv');
    await writeReport(file, 'csv', [{ row: 1, status: 'ok', id: 1, values: { name: 'a' } }, { row: 2, status: 'unsent', detail: 'dry run', values: { name: 'b' } }]);
    await expect(readPriorReport(file)).rejects.toThrow(/is the plan of a dry run/);
  });
});
