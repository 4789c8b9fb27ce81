/**
 * The wiring (run.ts) with a fake operation over a real input file and report: interrupts end-to-end through the
 * stages — the first stop sends no new batch and reports the rest unsent; a kill abandons the request in flight and
 * leaves its create rows outcome_unknown for --resume, which reconciles them first.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Operation, Reconciled, Session, UnclearRule } from '../../src/operations/types.js';
import { runOperation, type RunOptions } from '../../src/pipeline/run.js';
import { readPriorReport } from '../../src/report/prior.js';
import { fingerprintText } from '../../src/report/fingerprint.js';
import { allOk, FakeProgress, fakeSession, ManualTime } from '../support/pipeline-fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = join(dir, 'in.csv');
writeFileSync(input, ['name', ...Array.from({ length: 10 }, (_, i) => `n${i + 1}`)].join('\n') + '\n');

function operation(session: Session, unclear: UnclearRule = 'reconcile'): Operation {
  return { command: 'fake-create', api: 'fake', service: 'cmdb', maxBatch: null, defaultBatch: 2, atomic: false, unclear, setup: async () => session };
}

function options(op: Operation, report: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    operation: op,
    input: { file: input },
    opOptions: { noSchema: false, empty: 'omit' },
    report: { path: report, format: 'csv' },
    dryRun: false,
    skipInvalid: false,
    concurrency: 1,
    connect: async () => ({ stats: () => ({ requests: 0, retries: 0, rateLimited: 0, rateLimitWaitMs: 0 }), close: async () => {} }),
    info: () => {},
    warn: () => {},
    progress: new FakeProgress(),
    stop: new AbortController().signal,
    kill: new AbortController().signal,
    now: new ManualTime().now,
    ...extra,
  };
}

const statuses = async (report: string) => {
  const r = await readPriorReport(report);
  return Array.from({ length: 10 }, (_, i) => [r.statusOf(i + 1), r.outcome(i + 1)?.error_code]);
};

describe('runOperation: interrupts', () => {
  it('first stop: the batch in flight finishes, no new batch is sent, the rest is unsent; exit 130', async () => {
    const stop = new AbortController();
    const session = fakeSession((batch, n) => {
      if (n === 2) stop.abort();
      return allOk(batch);
    });
    const report = join(dir, 'stop.csv');
    const { summary, exitCode } = await runOperation(options(operation(session), report, { stop: stop.signal }));
    expect(session.server.requests).toEqual([[1, 2], [3, 4]]);
    expect(exitCode).toBe(130);
    expect(summary).toMatchObject({ total: 10, ok: 4, unsent: 6, groups: [] });
    expect(summary.error).toMatch(/^interrupted: .*--resume <report>/);
    expect((await statuses(report)).map(([s]) => s)).toEqual(['ok', 'ok', 'ok', 'ok', 'unsent', 'unsent', 'unsent', 'unsent', 'unsent', 'unsent']);
  });

  it('kill: the request in flight is abandoned; its create rows are outcome_unknown, and --resume reconciles them before sending', async () => {
    const stop = new AbortController();
    const kill = new AbortController();
    const session = fakeSession((batch, n) => {
      if (n < 3) return allOk(batch);
      stop.abort();
      kill.abort();
      throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    });
    const report = join(dir, 'kill.csv');
    const { summary, exitCode } = await runOperation(options(operation(session), report, { stop: stop.signal, kill: kill.signal }));
    expect(exitCode).toBe(130);
    expect(summary).toMatchObject({ ok: 4, failed: 2, unsent: 4, outcome_unknown: 2 });
    expect(await statuses(report)).toEqual([
      ...Array(4).fill(['ok', undefined]),
      ['failed', 'outcome_unknown'],
      ['failed', 'outcome_unknown'],
      ...Array(4).fill(['unsent', undefined]),
    ]);

    // --resume: row 5 was applied before the kill, row 6 was not.
    const again = fakeSession(allOk, (batch) => batch.map((r): Reconciled => (r.row === 5 ? { state: 'applied', id: 'X5', created: true } : { state: 'not-applied' })));
    const resumed = await runOperation(options(operation(again), report, { resume: report }));
    expect(resumed.exitCode).toBe(0);
    expect(resumed.summary).toMatchObject({ ok: 10, resumed_ok: 4, outcome_unknown: 0 });
    expect(again.server.reconciles).toEqual([[5, 6]]);
    expect(again.server.requests.flat().sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10]);
  });

  it('kill on an update (resend rule): the rows in flight are unsent, safe to send again', async () => {
    const kill = new AbortController();
    const session = fakeSession(() => {
      kill.abort();
      throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    });
    const report = join(dir, 'kill-update.csv');
    const { summary } = await runOperation(options(operation(session, 'resend'), report, { kill: kill.signal }));
    expect(summary).toMatchObject({ ok: 0, failed: 0, unsent: 10, outcome_unknown: 0, exit_code: 130 });
  });
});

describe('runOperation: rows not sent', () => {
  it('a dry run sends nothing: every valid row is unsent with the detail "dry run", exit 0', async () => {
    const session = fakeSession(allOk);
    const report = join(dir, 'dry.csv');
    const { summary } = await runOperation(options(operation(session), report, { dryRun: true }));
    expect(session.server.requests).toEqual([]);
    expect(summary).toMatchObject({ unsent: 10, exit_code: 0, batches: 5, groups: [], report: null, plan: join(dir, 'dry.plan.csv') });
    // A plan, never a report: --report dry.csv is left alone.
    expect(existsSync(report)).toBe(false);
    expect(readFileSync(join(dir, 'dry.plan.csv'), 'utf8').split('\n')[1]).toBe(`1,unsent,,,,dry run,,,${fingerprintText({ name: 'n1' })},,n1`);
  });

  it('a file with an invalid row sends nothing (exit 2); the rows held back are not a failure cause', async () => {
    const session = fakeSession(allOk);
    session.check = (r) => ({ row: r.row, values: r.values, payload: {}, group: '', errors: r.values.name === 'n3' ? [{ message: 'name: too short' }] : [] });
    const warned: string[] = [];
    const { summary } = await runOperation(options(operation(session), join(dir, 'blocked.csv'), { warn: (l) => warned.push(l) }));
    expect(session.server.requests).toEqual([]);
    expect(summary).toMatchObject({ invalid: 1, unsent: 9, exit_code: 2, groups: [{ error: 'name: too short', count: 1, rows: [3] }] });
    expect(warned[0]).toMatch(/1 of 10 rows are invalid; nothing was sent/);
  });
});

