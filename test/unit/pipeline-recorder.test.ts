/**
 * recorder: counts, failure causes, the report and the --failed file (in input order whatever order batches finish
 * in), progress throttled on a manual clock, back-pressure, and the structured stop cause.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthError, UnreachableError } from '../../src/core/errors.js';
import type { RowOutcome } from '../../src/core/types.js';
import { inflightPath, resumingPath } from '../../src/pipeline/inflight.js';
import { Recorder } from '../../src/pipeline/recorder.js';
import { readPriorReport } from '../../src/report/prior.js';
import { FakeProgress, ManualTime, memoryRecorder } from '../support/pipeline-fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-recorder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (row: number): RowOutcome => ({ row, status: 'ok', id: row, values: { name: `n${row}` } });
const failed = (row: number, error = 'instance not found'): RowOutcome => ({ row, status: 'failed', error_code: 1199019, error, values: { name: `n${row}` } });

describe('counts and causes', () => {
  it('counts each status, outcome_unknown and carried rows', async () => {
    const r = await memoryRecorder();
    r.record([ok(1), failed(2), { row: 3, status: 'failed', error_code: 'outcome_unknown', error: 'no clear answer' }]);
    r.record([{ row: 4, status: 'invalid', error: 'port_count: expected an integer' }], 'settled');
    r.record([{ row: 5, status: 'ok', id: 9 }], 'carried');
    expect(r.counts).toEqual({ ok: 2, failed: 2, invalid: 1, unsent: 0, unchanged: 0 });
    expect(r.outcomeUnknown).toBe(1);
    expect(r.carried).toBe(1);
  });

  it('rows left unsent because the whole run stopped are not a cause; unsent rows with their own error are', async () => {
    const r = await memoryRecorder();
    r.record([{ row: 1, status: 'invalid', error: 'port_count: expected at most 1024, got "5000"' }], 'settled');
    for (let row = 2; row <= 100; row++) r.record([{ row, status: 'unsent', error: row % 2 ? 'not sent: the run was interrupted' : 'not sent: the file has invalid rows' }], 'stopped');
    r.record([{ row: 101, status: 'unsent', error_code: 'unreachable', error: 'the server is unreachable: ECONNREFUSED' }]);
    // A row still to be checked stays failed / outcome_unknown even when the run stopped: that is a cause.
    r.record([{ row: 102, status: 'failed', error_code: 'outcome_unknown', error: 'not checked yet' }], 'stopped');
    expect(r.groups.list().map((x) => [x.count, x.rows])).toEqual([[1, [1]], [1, [101]], [1, [102]]]);
    expect(r.counts.unsent).toBe(100);
  });
});

describe('the stop cause', () => {
  it('is structured: interrupted, or the first error that ended the run', async () => {
    const r = await memoryRecorder();
    expect([r.stopping, r.cause, r.stopReason()]).toEqual([false, undefined, 'not sent']);
    r.stop('interrupt');
    expect([r.stopping, r.cause, r.stopReason()]).toEqual([true, { kind: 'interrupted' }, 'not sent: the run was interrupted']);
    const first = new UnreachableError('the server is unreachable: ECONNREFUSED\nmore', 'check the URL');
    r.stop(first);
    r.stop(new AuthError('later'));
    expect(r.cause).toEqual({ kind: 'failed', error: first });
    expect(r.interrupted).toBe(true);
    expect(r.stopReason()).toBe('not sent: the run stopped (the server is unreachable: ECONNREFUSED)');
  });
});

describe('progress', () => {
  it('updates when 100 rows were added or 100 ms passed, and always when forced', async () => {
    const time = new ManualTime();
    const progress = new FakeProgress();
    const r = await memoryRecorder({ now: time.now, progress, total: 500 });
    r.progress(true);
    for (let row = 1; row <= 99; row++) r.record([ok(row)], 'settled');
    expect(progress.updates).toHaveLength(1); // 99 rows within 0 ms: not yet
    r.record([ok(100)], 'settled');
    expect(progress.updates.at(-1)).toEqual({ done: 100, total: 500, ok: 100, failed: 0 });
    r.record([failed(101)]);
    expect(progress.updates).toHaveLength(2);
    time.advance(100);
    r.record([failed(102)]);
    expect(progress.updates.at(-1)).toEqual({ done: 102, total: 500, ok: 100, failed: 2 });
    r.progress(true);
    expect(progress.updates).toHaveLength(4);
  });
});

describe('back-pressure', () => {
  it('room() waits while the report holds a window of rows back, and goes on when the gap is filled or the run stops', async () => {
    const r = await Recorder.open({ reportPath: join(dir, 'bp.csv'), format: 'csv', inputColumns: ['name'], inflight: false, total: 10, progress: new FakeProgress(), now: Date.now, window: 3 });
    r.record([ok(2), ok(3), ok(4)]); // row 1 not there yet: 3 rows held back
    let free = false;
    const waiting = r.room().then(() => (free = true));
    await new Promise((res) => setImmediate(res));
    expect(free).toBe(false);
    r.record([ok(1)]);
    await waiting;
    expect(free).toBe(true);
    r.record([ok(6), ok(7), ok(8)]);
    const again = r.room();
    r.stop('interrupt');
    await again;
    await r.close(false);
  });
});

describe('files', () => {
  it('a row still to be checked (outcome unknown) is on disk as soon as it is recorded, even when the run is stopping', async () => {
    const report = join(dir, 'unknown.csv');
    const r = await Recorder.open({ reportPath: report, format: 'csv', inputColumns: ['name'], inflight: false, total: 3, progress: new FakeProgress(), now: Date.now, window: 100 });
    r.record([{ row: 1, status: 'unsent', error: 'not sent: the run was interrupted', values: { name: 'n1' } }], 'stopped');
    r.record([{ row: 2, status: 'failed', error_code: 'outcome_unknown', error: 'not checked yet', values: { name: 'n2' } }], 'stopped');
    // Killed here: what a --resume would read.
    const prior = await readPriorReport(report);
    expect(prior.outcome(2)).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    await r.close(false);
  });


  it('writes the report in input order and the --failed file in input order, whatever order batches finish in', async () => {
    const report = join(dir, 'order.csv');
    const failedPath = join(dir, 'order.failed.csv');
    const r = await Recorder.open({
      reportPath: report,
      format: 'csv',
      inputColumns: ['name'],
      failed: { path: failedPath, format: 'csv', columns: ['name'] },
      inflight: false,
      total: 6,
      progress: new FakeProgress(),
      now: Date.now,
      window: 100,
    });
    r.record([failed(4, 'four'), ok(5), failed(6, 'six')]);
    r.flushFailed();
    r.record([ok(1), failed(2, 'two'), { row: 3, status: 'invalid', error: 'three', values: { name: 'n3' } }]);
    r.flushFailed();
    await r.close(true);
    expect(readFileSync(report, 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['row', '1', '2', '3', '4', '5', '6']);
    expect(readFileSync(failedPath, 'utf8').trim().split('\n')).toEqual(['name,_error', 'n2,two', 'n3,three', 'n4,four', 'n6,six']);
  });

  it('a report written over the earlier one (--resume) goes beside it and replaces it only when complete', async () => {
    const report = join(dir, 'resume.csv');
    writeFileSync(report, 'row,status\n1,unsent\n');
    writeFileSync(inflightPath(report), '[1]\n');
    const open = () =>
      Recorder.open({ reportPath: report, priorPath: report, format: 'csv', inputColumns: ['name'], inflight: true, total: 1, progress: new FakeProgress(), now: Date.now, window: 100 });
    const killed = await open();
    killed.inflight!.mark([1]);
    expect(existsSync(inflightPath(resumingPath(report)))).toBe(true);
    await killed.close(false);
    expect(readFileSync(report, 'utf8')).toBe('row,status\n1,unsent\n'); // untouched
    expect(existsSync(resumingPath(report))).toBe(false);
    // The unfinished resume's in-flight log stays: the next --resume must check what it sent.
    expect(readFileSync(inflightPath(resumingPath(report)), 'utf8')).toBe('[1]\n');

    const done = await open();
    done.record([ok(1)]);
    await done.close(true);
    expect(readFileSync(report, 'utf8').split('\n')[1]).toMatch(/^1,ok,1,/);
    for (const f of [resumingPath(report), inflightPath(report), inflightPath(resumingPath(report))]) expect(existsSync(f)).toBe(false);
  });
});
