/**
 * Reports that never lie and advice that never duplicates (issue 14): each case a user reproduced, run with the
 * built CLI against the simulator, asserting the simulator's store, the report's rows and the exit code.
 * Interrupts are triggered from the simulator's request log (after the work, before the answer), never by timing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Simulator } from '../../src/sim/index.js';
import { fingerprintText } from '../../src/report/fingerprint.js';
import { cmdbEnv, csv, expectRowsOnce, feishuEnv, readReport, runCli, tempDir, withSim } from './helpers.js';

let sim: Simulator;
let onLog: ((line: string) => void) | undefined;
const tmp = tempDir();

beforeAll(async () => {
  sim = await withSim({ log: (line) => onLog?.(line), apigwWindows: false, feishuWindows: false });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});
afterEach(() => {
  onLog = undefined;
  sim.reset();
});

const NS = 'package_demo__c';
const FAST = ['--retry-delay', '5', '--no-progress'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs the CLI; `hook` sees every line of the simulator's log with the child process (to signal it). */
function runWithHook(args: string[], env: Record<string, string>, hook: (line: string, child: ChildProcess) => void) {
  let child: ChildProcess | undefined;
  onLog = (line) => {
    if (child) hook(line, child);
  };
  return runCli(args, { env, onSpawn: (c) => (child = c) });
}

/** Interrupts the run (SIGINT, or `signal`) when the simulator has done the n-th request matching `re`, before it answers. */
const interruptAt = (re: RegExp, n: number, signal: NodeJS.Signals = 'SIGINT') => {
  let seen = 0;
  return (line: string, child: ChildProcess) => {
    if (re.test(line) && ++seen === n) child.kill(signal);
  };
};

const switchLines = (assets: string[]) => ['bk_inst_name,bk_asset_id,port_count', ...assets.map((a) => `sw-${a},${a},24`)];
const switchesWith = (asset: string) => sim.store.instances('bk_switch').filter((s) => s.bk_asset_id === asset);
/** Oldest first: by the name's time stamp, then by its collision number (`-2` is a later run in the same second). */
const runOrder = (f: string) => {
  const m = /\.(\d{8}-\d{6})(?:-(\d+))?\./.exec(f);
  return m ? `${m[1]}.${(m[2] ?? '1').padStart(6, '0')}` : f;
};
const reportsIn = (dir: string, re: RegExp) =>
  readdirSync(dir)
    .filter((f) => re.test(f))
    .sort((a, b) => runOrder(a).localeCompare(runOrder(b)));

describe('reports are records: never replaced silently', () => {
  it('an interrupted apaas-create, a dry run, a --resume of the latest report: every record once (was 600 duplicates)', async () => {
    const dir = tempDir();
    try {
      const serials = range(60).map((i) => `S-${i}`);
      const input = dir.file('assets.csv', csv(['serial,name', ...serials.map((s) => `${s},asset ${s}`)]));
      const args = ['apaas-create', input, '--namespace', NS, '--object', 'asset', '--batch-size', '10', '--concurrency', '1', ...FAST];
      const first = await runWithHook(args, feishuEnv(sim), interruptAt(/feishu_batch_create -> 200/, 2));
      expect(first.code, first.stderr).toBe(130);
      const created = sim.store.records(NS, 'asset').length;
      expect(created).toBeGreaterThanOrEqual(20);
      expect(created).toBeLessThan(60);

      const dry = await runCli([...args, '--dry-run'], { env: feishuEnv(sim) });
      expect(dry.code, dry.stderr).toBe(0);
      // One report, one plan, the link to the report: the dry run replaced nothing.
      const reports = reportsIn(dir.dir, /^assets\.apaas-create\.\d{8}-\d{6}(-\d+)?\.report\.csv$/);
      const plans = reportsIn(dir.dir, /^assets\.apaas-create\.\d{8}-\d{6}(-\d+)?\.plan\.csv$/);
      expect(reports).toHaveLength(1);
      expect(plans).toHaveLength(1);
      const latest = join(dir.dir, 'assets.apaas-create.latest.report.csv');
      expect(readlinkSync(latest)).toBe(reports[0]);
      expect(dry.stderr).toContain(`plan: ${join(dir.dir, plans[0]!)}`);

      // The plan is not a report: resuming it would send every row again.
      const fromPlan = await runCli([...args, '--resume', join(dir.dir, plans[0]!)], { env: feishuEnv(sim) });
      expect(fromPlan.code).toBe(2);
      expect(fromPlan.stderr).toMatch(/plan of a dry run/);
      expect(sim.store.records(NS, 'asset')).toHaveLength(created);

      const resumed = await runCli([...args, '--resume', latest], { env: feishuEnv(sim) });
      expect(resumed.code, resumed.stderr).toBe(0);
      const store = sim.store.records(NS, 'asset');
      expect(store).toHaveLength(60);
      for (const s of serials) expect(store.filter((r) => r.serial === s), s).toHaveLength(1);
      // The resume completed THAT report, through the link: every row ok, with the record's id.
      const rows = readReport(join(dir.dir, reports[0]!));
      expectRowsOnce(rows, 60);
      for (const [i, row] of rows.entries()) expect(row).toMatchObject({ status: 'ok', id: store.find((r) => r.serial === serials[i])!._id });
      expect(readlinkSync(latest)).toBe(reports[0]);
    } finally {
      dir.cleanup();
    }
  });

  it('a second run of the same file gets its own report, and the latest link moves to it', async () => {
    const dir = tempDir();
    try {
      const input = dir.file('sw.csv', csv(switchLines(['TWICE-1', 'TWICE-2'])));
      const one = await runCli(['create-inst', input, '--obj', 'bk_switch', ...FAST], { env: cmdbEnv(sim, 'esb') });
      expect(one.code, one.stderr).toBe(0);
      const two = await runCli(['create-inst', input, '--obj', 'bk_switch', ...FAST], { env: cmdbEnv(sim, 'esb') });
      expect(two.code).toBe(3);
      const reports = reportsIn(dir.dir, /^sw\.create-inst\.\d{8}-\d{6}(-\d+)?\.report\.csv$/);
      expect(reports).toHaveLength(2);
      const [first, second] = reports.map((f) => readReport(join(dir.dir, f)));
      // The first report still holds the ids the first run created.
      expect(first!.map((r) => [r.status, Number(r.id)])).toEqual([
        ['ok', switchesWith('TWICE-1')[0]!.bk_inst_id],
        ['ok', switchesWith('TWICE-2')[0]!.bk_inst_id],
      ]);
      expect(second!.map((r) => r.status)).toEqual(['failed', 'failed']);
      expect(readlinkSync(join(dir.dir, 'sw.create-inst.latest.report.csv'))).toBe(reports[1]);
      expect(switchesWith('TWICE-1')).toHaveLength(1);
    } finally {
      dir.cleanup();
    }
  });

  it('--report naming a report with ok rows is refused (exit 2, nothing sent) unless --overwrite', async () => {
    const report = join(tmp.dir, 'kept.report.csv');
    const a = tmp.file('kept-a.csv', csv(switchLines(['KEEP-1'])));
    const b = tmp.file('kept-b.csv', csv(switchLines(['KEEP-2'])));
    expect((await runCli(['create-inst', a, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') })).code).toBe(0);
    const before = readFileSync(report, 'utf8');
    const refused = await runCli(['create-inst', b, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds the report of an earlier run with 1 ok row/);
    expect(refused.stderr).toContain('--overwrite');
    expect(readFileSync(report, 'utf8')).toBe(before);
    expect(switchesWith('KEEP-2')).toHaveLength(0);

    const forced = await runCli(['create-inst', b, '--obj', 'bk_switch', '--report', report, '--overwrite', ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readReport(report)).toMatchObject([{ row: 1, status: 'ok', id: String(switchesWith('KEEP-2')[0]!.bk_inst_id) }]);
  });
});

describe('--resume and --retry-failed check what they are given', () => {
  it('an interrupted create, the first 20 rows deleted from the file, --resume: rows are matched by content, every asset once', async () => {
    const assets = range(100).map((i) => `SHIFT-${i}`);
    const input = tmp.file('shift.csv', csv(switchLines(assets)));
    const report = join(tmp.dir, 'shift.report.csv');
    const args = ['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', ...FAST];
    const first = await runWithHook([...args, '--report', report], cmdbEnv(sim, 'esb'), interruptAt(/batch_create_inst -> 200/, 4));
    expect(first.code, first.stderr).toBe(130);
    const done = readReport(report).filter((r) => r.status === 'ok').length;
    expect(done).toBeGreaterThanOrEqual(40);
    expect(done).toBeLessThan(100);

    // The user removes the first 20 lines (loaded already) and finishes the run.
    writeFileSync(input, csv(switchLines(assets.slice(20))));
    const resumed = await runCli([...args, '--resume', report], { env: cmdbEnv(sim, 'esb') });
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const a of assets) expect(switchesWith(a), a).toHaveLength(1);
    const rows = readReport(report);
    expectRowsOnce(rows, 80);
    for (const [i, row] of rows.entries()) {
      expect(row.status, `row ${i + 1}`).toBe('ok');
      expect(Number(row.id), `row ${i + 1}`).toBe(switchesWith(assets[i + 20]!)[0]!.bk_inst_id);
    }
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });

  it("another file's report is refused (exit 2, the rows that differ listed); that report is left as it was", async () => {
    const mine = tmp.file('mine.csv', csv(switchLines(['MINE-1', 'MINE-2', 'MINE-3'])));
    const theirs = tmp.file('theirs.csv', csv(switchLines(['THEIRS-1', 'THEIRS-2'])));
    const report = join(tmp.dir, 'theirs.report.csv');
    expect((await runCli(['create-inst', theirs, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') })).code).toBe(0);
    const before = readFileSync(report, 'utf8');
    const r = await runCli(['create-inst', mine, '--obj', 'bk_switch', '--resume', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('was not made from this input');
    expect(r.stderr).toMatch(/row 1: the earlier report's row 1 is ok \(id \d+\)/);
    expect(r.stderr).toMatch(/row 2: /);
    expect(readFileSync(report, 'utf8')).toBe(before);
    for (const a of ['MINE-1', 'MINE-2', 'MINE-3']) expect(switchesWith(a)).toHaveLength(0);
    const retry = await runCli(['create-inst', mine, '--obj', 'bk_switch', '--retry-failed', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(retry.code).toBe(2);
    expect(readFileSync(report, 'utf8')).toBe(before);
  });

  it("NDJSON rows with odd spacing, escapes and CRLF: plan and report keep each row's own text; --retry-failed reads that report and one written before (input re-serialised) alike", async () => {
    // Rows 1, 2 and 4 are valid; row 3's port_count is not a number. Each line is JSON no serialiser would write.
    const lines = (port3: string) => [
      '{"bk_inst_name" : "odd-1",   "bk_asset_id":"ODD-1"}  ',
      '{"bk_inst_name":"odd-\\u0032","bk_asset_id":"ODD-2","port_count":24.0}\r',
      `{ "bk_inst_name":"odd-3", "bk_asset_id":"ODD-3", "port_count":${port3} }`,
      '\t{"bk_asset_id":"ODD-4","bk_inst_name":"odd-4\\/x"}',
    ];
    const input = tmp.file('odd.ndjson', lines('"forty"').join('\n') + '\n');
    const parsed = lines('"forty"').map((l) => JSON.parse(l) as Record<string, unknown>);
    const args = ['create-inst', input, '--obj', 'bk_switch', ...FAST];

    const dry = await runCli([...args, '--dry-run', '--report', join(tmp.dir, 'odd.report.ndjson')], { env: cmdbEnv(sim, 'esb') });
    expect(dry.code, dry.stderr).toBe(2);
    const planText = readFileSync(join(tmp.dir, 'odd.plan.ndjson'), 'utf8');
    const plan = readReport(join(tmp.dir, 'odd.plan.ndjson'));
    expect(plan.map((r) => r.input)).toEqual(parsed);
    expect(plan.map((r) => r.fingerprint)).toEqual(parsed.map((v) => fingerprintText(v)));
    // The row's own text, without the whitespace around it (and without the CR).
    for (const l of lines('"forty"')) expect(planText).toContain(`,"input":${l.trim()}}\n`);

    const report = join(tmp.dir, 'odd.report.ndjson');
    const first = await runCli([...args, '--skip-invalid', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(first.code, first.stderr).toBe(3);
    expect(readReport(report).map((r) => r.status)).toEqual(['ok', 'ok', 'invalid', 'ok']);
    expect(readFileSync(report, 'utf8')).toContain(`,"input":${lines('"forty"')[2]}}\n`);
    // The same report as a version that re-serialised every row's input would have written it.
    const older = join(tmp.dir, 'odd-older.report.ndjson');
    const reserialised = (text: string) =>
      text.split('\n').map((l) => (l ? l.slice(0, l.indexOf(',"input":')) + `,"input":${JSON.stringify((JSON.parse(l) as { input: unknown }).input)}}` : l)).join('\n');
    writeFileSync(older, reserialised(readFileSync(report, 'utf8')));
    expect(readFileSync(older, 'utf8')).not.toBe(readFileSync(report, 'utf8'));

    writeFileSync(input, lines('40').join('\n') + '\n');
    for (const [i, earlier] of [older, report].entries()) {
      // Each earlier report matches rows 1, 2 and 4 by content (their fingerprints): carried, not sent again.
      const plan = join(tmp.dir, `retry-${i}.report.ndjson`);
      const look = await runCli([...args, '--retry-failed', earlier, '--dry-run', '--report', plan], { env: cmdbEnv(sim, 'esb') });
      expect(look.code, look.stderr).toBe(0);
      expect(look.stderr).not.toContain('no row fingerprints');
      expect(readReport(plan.replace('.report.', '.plan.')).map((r) => r.status)).toEqual(['ok', 'ok', 'unsent', 'ok']);
    }
    const retry = await runCli([...args, '--retry-failed', older, '--report', join(tmp.dir, 'retry.report.ndjson')], { env: cmdbEnv(sim, 'esb') });
    expect(retry.code, retry.stderr).toBe(0);
    for (const a of ['ODD-1', 'ODD-2', 'ODD-3', 'ODD-4']) expect(switchesWith(a), a).toHaveLength(1);
  });

  it('--retry-failed sends an invalid row fixed in the file since, as the file has it now', async () => {
    const input = tmp.file('fix.csv', csv(['bk_inst_name,bk_asset_id,port_count', 'a,FIX-1,24', 'b,FIX-2,forty', 'c,FIX-3,48']));
    const report = join(tmp.dir, 'fix.report.csv');
    const first = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(first.code).toBe(3);
    expect(readReport(report).map((r) => r.status)).toEqual(['ok', 'invalid', 'ok']);

    writeFileSync(input, csv(['bk_inst_name,bk_asset_id,port_count', 'a,FIX-1,24', 'b,FIX-2,40', 'c,FIX-3,48']));
    const retry = await runCli(['create-inst', input, '--obj', 'bk_switch', '--retry-failed', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(retry.code, retry.stderr).toBe(0);
    expect(switchesWith('FIX-2')).toHaveLength(1);
    expect(switchesWith('FIX-2')[0]!.port_count).toBe(40);
    const rows = readReport(report);
    expect(rows.map((r) => [r.status, r.port_count])).toEqual([['ok', '24'], ['ok', '40'], ['ok', '48']]);
    expect(Number(rows[1]!.id)).toBe(switchesWith('FIX-2')[0]!.bk_inst_id);
    for (const a of ['FIX-1', 'FIX-3']) expect(switchesWith(a)).toHaveLength(1);
  });
});

describe('every Next: line is safe to follow', () => {
  it('rows whose outcome is unknown are not in the --failed file; the advice is --resume, and following it creates nothing twice', async () => {
    sim.setFaults({ appliedThen504Rate: 1, ops: ['feishu_batch_create'] });
    const input = tmp.file('unclear.csv', csv(['serial,name', ...range(10).map((i) => `U-${i},unit ${i}`)]));
    const report = join(tmp.dir, 'unclear.report.csv');
    const failed = join(tmp.dir, 'unclear.failed.csv');
    const r = await runCli(['apaas-create', input, '--namespace', NS, '--object', 'unit', '--report', report, '--failed', failed, ...FAST], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    expect(readReport(report).every((x) => x.error_code === 'outcome_unknown')).toBe(true);
    expect(sim.store.records(NS, 'unit')).toHaveLength(10);
    // Nothing in the --failed file may be loaded blindly.
    expect(readFileSync(failed, 'utf8').trim().split('\n')).toEqual(['serial,name,_error']);
    const next = r.stderr.slice(r.stderr.indexOf('Next:'));
    expect(next).toContain(`--resume ${report}`);
    expect(next).not.toMatch(/load that file/);

    sim.setFaults({});
    const loaded = await runCli(['apaas-create', failed, '--namespace', NS, '--object', 'unit', '--report', join(tmp.dir, 'unclear.fixed.csv'), ...FAST], { env: feishuEnv(sim) });
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stderr).toContain('Nothing to do');
    expect(sim.store.records(NS, 'unit')).toHaveLength(10);
  });

  it('a create file loaded twice says which record already holds each value and points at update-inst --key / sync, not --retry-failed', async () => {
    const input = tmp.file('again.csv', csv(switchLines(['AGAIN-1', 'AGAIN-2'])));
    expect((await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 'again-1.report.csv'), ...FAST], { env: cmdbEnv(sim, 'esb') })).code).toBe(0);
    const ids = ['AGAIN-1', 'AGAIN-2'].map((a) => switchesWith(a)[0]!.bk_inst_id);
    const report = join(tmp.dir, 'again-2.report.csv');
    // --key names the field the rows are checked (and found) by; without it, the model's first unique field.
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expect(rows.every((x) => x.error_code === 'duplicate' && /duplicated/.test(String(x.detail)))).toBe(true);
    expect(rows.map((x) => [x.status, x.error])).toEqual([
      ['failed', `already exists: bk_asset_id "AGAIN-1" → id ${ids[0]}`],
      ['failed', `already exists: bk_asset_id "AGAIN-2" → id ${ids[1]}`],
    ]);
    const next = r.stderr.slice(r.stderr.indexOf('Next:'));
    expect(next).toContain('update-inst … --key bk_asset_id');
    expect(next).toContain('sync … --key bk_asset_id');
    expect(next).not.toMatch(/again with --retry-failed/);
    for (const a of ['AGAIN-1', 'AGAIN-2']) expect(switchesWith(a)).toHaveLength(1);
  });

  it('a dry run finds rows of one file that repeat a unique value (exit 2, the plan says which), and sends nothing', async () => {
    const input = tmp.file('dupdry.csv', csv(switchLines(['DRY-1', 'DRY-2', 'DRY-1'])));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'dupdry.report.csv'), ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('row 3: bk_inst_name "sw-DRY-1" is also in row 1');
    const plan = readReport(join(tmp.dir, 'dupdry.plan.csv'));
    expect(plan.map((x) => x.status)).toEqual(['unsent', 'unsent', 'invalid']);
    expect(existsSync(join(tmp.dir, 'dupdry.report.csv'))).toBe(false);
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('interrupts and edge cases', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s while the model is being read: exit 130, every row in the report unsent, nothing sent', async (signal) => {
    const input = tmp.file(`early-${signal}.csv`, csv(switchLines(range(30).map((i) => `EARLY-${i}`))));
    const report = join(tmp.dir, `early-${signal}.report.csv`);
    const r = await runWithHook(['create-inst', input, '--obj', 'bk_switch', '--report', report, '--json', ...FAST], cmdbEnv(sim, 'esb'), interruptAt(/search_object_attribute/, 1, signal));
    expect(r.code, r.stderr).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 30, unsent: 30, exit_code: 130 });
    const rows = readReport(report);
    expectRowsOnce(rows, 30);
    expect(rows.every((x) => x.status === 'unsent')).toBe(true);
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('a header-only file (an empty change set) ends with exit 0, a report with no rows, "nothing to do"', async () => {
    const input = tmp.file('empty.csv', 'bk_inst_name,bk_asset_id\n');
    const report = join(tmp.dir, 'empty.report.csv');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Nothing to do');
    expect(readFileSync(report, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readReport(report)).toEqual([]);
    expect(sim.counters().writeRequests).toBe(0);
  });
});
