/**
 * The fault-injection suite: the built CLI against the simulator with its faults on. Every test asserts the
 * simulator's store afterwards (each input row applied exactly once, no duplicate-key attempts that a blind
 * re-send would cause), the report (every row once, with the truth) and the exit code. docs/reliability.md maps
 * each fault to the test here that proves what the tool does about it.
 *
 * Timing: nothing here depends on speed. Kills and interrupts are triggered by the simulator's own request log
 * (called after a write was applied and before its answer is sent), so "killed with an applied but unanswered
 * batch" is a certainty, not a race.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Simulator } from '../../src/sim/index.js';
import { cmdbEnv, csv, expectRowsOnce, feishuEnv, readReport, runCli, tempDir, withSim, type ReportRow } from './helpers.js';

let sim: Simulator;
/** Called with every line of the simulator's request log ("POST /path op -> status"), after the work, before the answer. */
let onLog: ((line: string) => void) | undefined;
const tmp = tempDir();

beforeAll(async () => {
  // No rate windows: these tests are about faults; the 429 storm test injects its own refusals.
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

/** Small batches (many requests), quick retries, room for bad luck. */
const FAST = ['--batch-size', '10', '--concurrency', '4', '--retry-delay', '5', '--retries', '10', '--no-progress', '--json'];
const NS = 'package_demo__c';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const switchesByAsset = () => {
  const m = new Map<string, number[]>();
  for (const s of sim.store.instances('bk_switch')) m.set(String(s.bk_asset_id), [...(m.get(String(s.bk_asset_id)) ?? []), Number(s.bk_inst_id)]);
  return m;
};

/** Each asset id exists exactly once, with the id the report gives its row. */
function expectCreatedOnce(rows: ReportRow[], assets: string[]) {
  const store = switchesByAsset();
  for (const [i, a] of assets.entries()) {
    expect(store.get(a), `asset ${a}`).toHaveLength(1);
    expect(rows[i]!.status, `row ${i + 1}: ${rows[i]!.error}`).toBe('ok');
    expect(Number(rows[i]!.id)).toBe(store.get(a)![0]);
  }
}

function switchInput(name: string, assets: string[]): string {
  return tmp.file(name, csv(['bk_inst_name,bk_asset_id,port_count', ...assets.map((a, i) => `sw-${a},${a},${(i % 48) + 1}`)]));
}

/** Pairs switch → host that the seeded world does not link yet: 20 switches × hosts 11.. */
const pairs = (n: number) => range(n).map((i) => ({ src: 1001 + (i % 20), dst: 11 + Math.floor(i / 20) }));

function expectLinkedOnce(rows: ReportRow[], want: Array<{ src: number; dst: number }>) {
  const links = sim.store.associations('bk_switch_connect_host');
  for (const [i, p] of want.entries()) {
    const found = links.filter((a) => a.bk_inst_id === p.src && a.bk_asst_inst_id === p.dst);
    expect(found, `pair ${p.src}→${p.dst}`).toHaveLength(1);
    expect(rows[i]!.status, `row ${i + 1}: ${rows[i]!.error}`).toBe('ok');
    expect(Number(rows[i]!.id)).toBe(found[0]!.id);
  }
}

/** A loopback port where nothing listens. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('5xx and dropped connections (10% / 5%) on every request', () => {
  it('create-inst: ambiguous creates are checked before any re-send; every row created once', async () => {
    const assets = range(300).map((i) => `F5-C-${i}`);
    const report = join(tmp.dir, 'f5-create.csv');
    sim.setFaults({ error5xxRate: 0.1, dropRate: 0.05 });
    const r = await runCli(['create-inst', switchInput('f5-create-in.csv', assets), '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 300, ok: 300, failed: 0, unsent: 0 });
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expectCreatedOnce(rows, assets);
    const c = sim.counters();
    expect(c.faultsInjected.error5xx).toBeGreaterThan(0);
    expect(c.faultsInjected.drop).toBeGreaterThan(0);
    expect(c.rowsApplied.batch_create_inst).toBe(300);
    expect(c.duplicateKeyAttempts).toBe(0);
    // The check happened: look-ups by bk_asset_id after the unclear answers.
    expect(c.requests.search_object_instances).toBeGreaterThan(0);
  });

  it('update-inst (apigw): updates are re-sent as they are; every row updated', async () => {
    const ids = range(300).map((i) => sim.store.insert('bk_switch', { bk_inst_name: `u-${i}`, bk_asset_id: `F5-U-${i}` }));
    const input = tmp.file('f5-update-in.csv', csv(['bk_inst_id,bk_sn,port_count', ...ids.map((id, i) => `${id},SN-F5-${i},${(i % 48) + 1}`)]));
    const report = join(tmp.dir, 'f5-update.csv');
    sim.setFaults({ error5xxRate: 0.1, dropRate: 0.05 });
    const r = await runCli(['update-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
    for (const [i, id] of ids.entries()) expect(sim.store.instance('bk_switch', id)).toMatchObject({ bk_sn: `SN-F5-${i}`, port_count: (i % 48) + 1 });
    const c = sim.counters();
    expect(c.faultsInjected.error5xx! + c.faultsInjected.drop!).toBeGreaterThan(0);
    // 5xx and drops never apply: each row was applied by exactly one request.
    expect(c.rowsApplied.batch_update_inst).toBe(300);
    expect(JSON.parse(r.stdout).retries).toBeGreaterThan(0);
  });

  it('associate: ambiguous creates are checked by pair; every link created once', async () => {
    const want = pairs(300);
    const input = tmp.file('f5-assoc-in.csv', csv(['bk_inst_id,bk_asst_inst_id', ...want.map((p) => `${p.src},${p.dst}`)]));
    const report = join(tmp.dir, 'f5-assoc.csv');
    sim.setFaults({ error5xxRate: 0.1, dropRate: 0.05 });
    const r = await runCli(['associate', input, '--asst-id', 'bk_switch_connect_host', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expectLinkedOnce(rows, want);
    const c = sim.counters();
    expect(c.faultsInjected.error5xx! + c.faultsInjected.drop!).toBeGreaterThan(0);
    expect(c.rowsApplied.batch_create_instance_association).toBe(300);
    expect(c.duplicateKeyAttempts).toBe(0);
  });

  it('apaas-update: every record updated, token fetch and writes retried', async () => {
    const table = sim.store.table(NS, 'rel_device');
    const ids = range(300).map((i) => String(1798681438090000 + i));
    for (const id of ids) table.set(id, { _id: id, name: `d-${id}`, status: 'online' });
    const input = tmp.file('f5-apaas-in.ndjson', ids.map((id, i) => JSON.stringify({ _id: id, status: `maint-${i}` })).join('\n') + '\n');
    const report = join(tmp.dir, 'f5-apaas.ndjson');
    sim.setFaults({ error5xxRate: 0.1, dropRate: 0.05 });
    const r = await runCli(['apaas-update', input, '--namespace', NS, '--object', 'rel_device', '--rate', 'off', '--report', report, ...FAST], { env: feishuEnv(sim) });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
    const recs = new Map(sim.store.records(NS, 'rel_device').map((x) => [String(x._id), x]));
    for (const [i, id] of ids.entries()) expect(recs.get(id)?.status).toBe(`maint-${i}`);
    const c = sim.counters();
    expect(c.faultsInjected.error5xx! + c.faultsInjected.drop!).toBeGreaterThan(0);
    expect(c.rowsApplied.feishu_batch_update).toBe(300);
  });
});

describe('"applied, then 504" (10%) and "applied, then dropped" (5%) on writes', () => {
  it('create-inst: the rows found on the server are ok with a detail; nothing created twice', async () => {
    const assets = range(300).map((i) => `A504-C-${i}`);
    const report = join(tmp.dir, 'a504-create.csv');
    sim.setFaults({ appliedThen504Rate: 0.1, dropAfterApplyRate: 0.05 });
    const r = await runCli(['create-inst', switchInput('a504-create-in.csv', assets), '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expectCreatedOnce(rows, assets);
    const c = sim.counters();
    const faulted = c.faultsInjected.appliedThen504! + c.faultsInjected.dropAfterApply!;
    expect(faulted).toBeGreaterThan(0);
    expect(c.duplicateKeyAttempts).toBe(0);
    expect(c.rowsApplied.batch_create_inst).toBe(300);
    // Every row of a batch that was applied but not answered was found, not re-sent: 10 rows per such batch.
    expect(rows.filter((x) => /found on the server/.test(String(x.detail))).length).toBe(10 * faulted);
  });

  it('associate: links found on the server are ok with a detail; nothing created twice', async () => {
    const want = pairs(300);
    const input = tmp.file('a504-assoc-in.csv', csv(['bk_inst_id,bk_asst_inst_id', ...want.map((p) => `${p.src},${p.dst}`)]));
    const report = join(tmp.dir, 'a504-assoc.csv');
    sim.setFaults({ appliedThen504Rate: 0.1, dropAfterApplyRate: 0.05 });
    const r = await runCli(['associate', input, '--asst-id', 'bk_switch_connect_host', '--report', report, ...FAST], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expectLinkedOnce(rows, want);
    const c = sim.counters();
    const faulted = c.faultsInjected.appliedThen504! + c.faultsInjected.dropAfterApply!;
    expect(faulted).toBeGreaterThan(0);
    expect(c.duplicateKeyAttempts).toBe(0);
    expect(rows.filter((x) => /found on the server/.test(String(x.detail))).length).toBe(10 * faulted);
  });

  it('apaas-create --key: records found by the key are ok; nothing created twice', async () => {
    const serials = range(200).map((i) => `A504-F-${i}`);
    const input = tmp.file('a504-apaas-in.ndjson', serials.map((s, i) => JSON.stringify({ serial_no: s, name: `n-${i}` })).join('\n') + '\n');
    const report = join(tmp.dir, 'a504-apaas.ndjson');
    // Faults on the creates only: the look-up before each batch must not shift which creates the seeded faults hit.
    sim.setFaults({ appliedThen504Rate: 0.1, dropAfterApplyRate: 0.05, ops: ['feishu_batch_create'] });
    const r = await runCli(['apaas-create', input, '--namespace', NS, '--object', 'rel_new', '--key', 'serial_no', '--rate', 'off', '--report', report, ...FAST], { env: feishuEnv(sim) });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 200);
    const recs = sim.store.records(NS, 'rel_new');
    for (const [i, s] of serials.entries()) {
      const found = recs.filter((x) => x.serial_no === s);
      expect(found, s).toHaveLength(1);
      expect(rows[i]!.status).toBe('ok');
      expect(String(rows[i]!.id)).toBe(String(found[0]!._id));
    }
    const c = sim.counters();
    const faulted = c.faultsInjected.appliedThen504! + c.faultsInjected.dropAfterApply!;
    expect(faulted).toBeGreaterThan(0);
    expect(rows.filter((x) => /found on the server/.test(String(x.detail))).length).toBe(10 * faulted);
  });

  it('without a unique field to check by, the rows are "outcome unknown" and never re-sent', async () => {
    // --no-schema: the tool does not know the model's unique fields, so it cannot check.
    const assets = range(30).map((i) => `UNK-${i}`);
    const input = tmp.file('unknown-in.csv', csv(['bk_inst_name,bk_asset_id', ...assets.map((a) => `n-${a},${a}`)]));
    const report = join(tmp.dir, 'unknown.csv');
    sim.setFaults({ appliedThen504Rate: 1, ops: ['batch_create_inst'] });
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--no-schema', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ total: 30, ok: 0, failed: 30, outcome_unknown: 30 });
    const rows = readReport(report);
    expectRowsOnce(rows, 30);
    expect(rows.every((x) => x.status === 'failed' && x.error_code === 'outcome_unknown')).toBe(true);
    // Sent once each (3 batches), never again.
    expect(sim.counters().requests.batch_create_inst).toBe(3);
    const store = switchesByAsset();
    for (const a of assets) expect(store.get(a)).toHaveLength(1);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });
});

describe('a timeout after the server applied the create', () => {
  it('create-inst --timeout: the rows are looked up, found, and not sent again', async () => {
    // A front for the simulator that holds the answers of the first two creates far past --timeout (the server
    // has applied them by then): the client gives up waiting without knowing what happened.
    let held = 0;
    const front = createHttpServer((req, res) => {
      const hold = /batch_create_inst/.test(req.url ?? '') && held++ < 2;
      const fwd = httpRequest({ host: '127.0.0.1', port: sim.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        const answer = () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        };
        if (hold) setTimeout(answer, 2000);
        else answer();
      });
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    try {
      const assets = range(60).map((i) => `TMO-${i}`);
      const report = join(tmp.dir, 'timeout.csv');
      const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
      const r = await runCli(['create-inst', switchInput('timeout-in.csv', assets), '--obj', 'bk_switch', '--report', report, ...FAST, '--timeout', '0.3'], {
        env: cmdbEnv(sim, 'esb', { CMDB_URL: url }),
      });
      expect(r.code, r.stderr).toBe(0);
      const rows = readReport(report);
      expectRowsOnce(rows, 60);
      expectCreatedOnce(rows, assets);
      expect(held).toBeGreaterThanOrEqual(2);
      expect(rows.filter((x) => /found on the server/.test(String(x.detail))).length).toBe(20);
      expect(sim.counters().rowsApplied.batch_create_inst).toBe(60);
      expect(sim.counters().duplicateKeyAttempts).toBe(0);
    } finally {
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
    }
  });
});

describe('a 429 storm', () => {
  const storm = { storm429: 5, stormResetSec: 0.05 };
  const ten = range(10);

  it.each(['esb', 'apigw'] as const)('create-inst via %s waits it out', async (gateway) => {
    const assets = ten.map((i) => `STORM-${gateway}-${i}`);
    // ESB's refusal (HTTP 200, code 1306429) carries no reset time: each one waits the default second.
    const n = gateway === 'esb' ? 3 : 5;
    sim.setFaults({ ...storm, storm429: n });
    const report = join(tmp.dir, `storm-create-${gateway}.csv`);
    const r = await runCli(['create-inst', switchInput(`storm-${gateway}.csv`, assets), '--obj', 'bk_switch', '--report', report, ...FAST, '--batch-size', '2'], { env: cmdbEnv(sim, gateway) });
    expect(r.code, r.stderr).toBe(0);
    expectCreatedOnce(readReport(report), assets);
    expect(sim.counters().faultsInjected.storm429).toBe(n);
    expect(JSON.parse(r.stdout).rate_limited).toBeGreaterThan(0);
  });

  it('update-inst, update-process and associate wait it out', async () => {
    const upd = tmp.file('storm-upd.csv', csv(['bk_inst_id,bk_sn', ...ten.map((i) => `${1001 + i},SN-ST-${i}`)]));
    const proc = tmp.file('storm-proc.csv', csv(['bk_process_id,description', ...ten.map((i) => `${1001 + i},storm ${i}`)]));
    const links = pairs(10);
    const asst = tmp.file('storm-asst.csv', csv(['bk_inst_id,bk_asst_inst_id', ...links.map((p) => `${p.src},${p.dst}`)]));
    const runs: Array<[string, string[]]> = [
      ['update-inst', [upd, '--obj', 'bk_switch']],
      ['update-process', [proc, '--biz', '2']],
      ['associate', [asst, '--asst-id', 'bk_switch_connect_host']],
    ];
    for (const [cmd, args] of runs) {
      const stormsBefore = sim.counters().faultsInjected.storm429 ?? 0;
      sim.setFaults(storm);
      const r = await runCli([cmd, ...args, '--report', join(tmp.dir, `storm-${cmd}.csv`), ...FAST, '--batch-size', '2'], { env: cmdbEnv(sim, 'apigw') });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect(readReport(join(tmp.dir, `storm-${cmd}.csv`)).every((x) => x.status === 'ok')).toBe(true);
      expect((sim.counters().faultsInjected.storm429 ?? 0) - stormsBefore).toBe(5);
    }
    for (const i of ten) expect(sim.store.instance('bk_switch', 1001 + i)?.bk_sn).toBe(`SN-ST-${i}`);
    for (const i of ten) expect(sim.store.process(1001 + i)?.description).toBe(`storm ${i}`);
    expectLinkedOnce(readReport(join(tmp.dir, 'storm-associate.csv')), links);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });

  it('apaas-update, apaas-create and apaas-delete wait it out (the token request too)', async () => {
    const ids = range(10).map((i) => String(1798681438085001 + i));
    const upd = tmp.file('storm-fu.ndjson', ids.map((id) => JSON.stringify({ _id: id, status: 'storm' })).join('\n'));
    const crt = tmp.file('storm-fc.ndjson', ten.map((i) => JSON.stringify({ serial_no: `ST-${i}` })).join('\n'));
    const del = tmp.file('storm-fd.csv', csv(['_id', ...ids.slice(5)]));
    const common = ['--namespace', NS, '--object', 'device', ...FAST, '--batch-size', '2'];
    for (const [cmd, file] of [['apaas-update', upd], ['apaas-create', crt], ['apaas-delete', del]] as const) {
      sim.setFaults(storm);
      const report = join(tmp.dir, `storm-${cmd}.ndjson`);
      const r = await runCli([cmd, file, ...common, '--report', report, ...(cmd === 'apaas-create' ? ['--key', 'serial_no'] : [])], { env: feishuEnv(sim) });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect(readReport(report).every((x) => x.status === 'ok')).toBe(true);
    }
    const recs = sim.store.records(NS, 'device');
    expect(recs.filter((x) => x.status === 'storm').map((x) => x._id)).toEqual(ids.slice(0, 5));
    for (const i of ten) expect(recs.filter((x) => x.serial_no === `ST-${i}`)).toHaveLength(1);
    expect(recs.some((x) => ids.slice(5).includes(String(x._id)))).toBe(false);
  });
});

/** Runs the CLI; `trigger(child)` is called from the simulator's log for each answered write. */
function runWithHook(args: string[], env: Record<string, string>, hook: (line: string, child: ChildProcess) => void) {
  let child: ChildProcess | undefined;
  onLog = (line) => {
    if (child) hook(line, child);
  };
  return runCli(args, { env, onSpawn: (c) => (child = c) });
}

describe('killed with SIGKILL mid-run, then --resume', () => {
  it('create-inst: a batch applied but never answered is found, not sent again — even across failed and killed resumes', async () => {
    const assets = range(400).map((i) => `KILL-C-${i}`);
    const input = switchInput('kill-create-in.csv', assets);
    const report = join(tmp.dir, 'kill-create.csv');
    const args = ['create-inst', input, '--obj', 'bk_switch', ...FAST, '--batch-size', '20', '--concurrency', '2'];
    const killAt = (n: number) => {
      let answered = 0;
      return (line: string, child: ChildProcess) => {
        // The n-th create is applied; its answer is not sent yet: kill now.
        if (/batch_create_inst -> 200/.test(line) && ++answered === n) child.kill('SIGKILL');
      };
    };
    sim.setFaults({ latencyMs: 20, ops: ['batch_create_inst'] });
    const r = await runWithHook([...args, '--report', report], cmdbEnv(sim, 'esb'), killAt(6));
    expect(r.code).toBe(null);
    sim.setFaults({});
    const inStore = () => new Set(sim.store.instances('bk_switch').map((s) => String(s.bk_asset_id)));
    const appliedAtKill = [...inStore()].filter((a) => a.startsWith('KILL-C-')).length;
    const before = readReport(report).filter((x) => x.status === 'ok').length;
    expect(appliedAtKill).toBeGreaterThanOrEqual(120);
    // The killed run left rows on the server that its report does not have as ok.
    expect(before).toBeLessThan(appliedAtKill);
    expect(existsSync(`${report}.inflight`)).toBe(true);

    // A resume that cannot reach the server: exit 5, a complete report, and the rows that may exist stay
    // "outcome unknown" (not "unsent"), so the next resume still checks them.
    const down = await runCli([...args, '--resume', report], { env: cmdbEnv(sim, 'esb', { CMDB_URL: `http://127.0.0.1:${await deadPort()}` }) });
    expect(down.code).toBe(5);
    let rows = readReport(report);
    expectRowsOnce(rows, 400);
    const store = inStore();
    for (const [i, a] of assets.entries()) {
      if (store.has(a)) expect(rows[i]!.status === 'ok' || rows[i]!.error_code === 'outcome_unknown', `row ${i + 1}`).toBe(true);
      else expect(['unsent', 'outcome_unknown']).toContain(rows[i]!.error_code === 'outcome_unknown' ? 'outcome_unknown' : rows[i]!.status);
    }
    expect(rows.filter((x) => x.error_code === 'outcome_unknown').length).toBeGreaterThanOrEqual(20);

    // A dry run leaves the earlier report as it is.
    const snapshot = readFileSync(report, 'utf8');
    expect((await runCli([...args, '--resume', report, '--dry-run'], { env: cmdbEnv(sim, 'esb') })).code).toBe(0);
    expect(readFileSync(report, 'utf8')).toBe(snapshot);

    // A resume killed with a batch of its own applied but unanswered: the report it was resuming is untouched.
    sim.setFaults({ latencyMs: 20, ops: ['batch_create_inst'] });
    expect((await runWithHook([...args, '--resume', report], cmdbEnv(sim, 'esb'), killAt(2))).code).toBe(null);
    sim.setFaults({});
    expect(readFileSync(report, 'utf8')).toBe(snapshot);
    expect(inStore().size).toBeGreaterThan(store.size);

    // The last resume finishes: every row once, nothing sent twice.
    const again = await runCli([...args, '--resume', report], { env: cmdbEnv(sim, 'esb') });
    expect(again.code, again.stderr).toBe(0);
    rows = readReport(report);
    expectRowsOnce(rows, 400);
    expectCreatedOnce(rows, assets);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
    expect(rows.filter((x) => /earlier run/.test(String(x.detail))).length).toBeGreaterThanOrEqual(40);
    for (const f of ['.inflight', '.journal', '.resuming', '.resuming.inflight', '.resuming.journal']) expect(existsSync(report + f), f).toBe(false);
  });

  it('associate: the same, checked by pair', async () => {
    const want = pairs(300);
    const input = tmp.file('kill-assoc-in.csv', csv(['bk_inst_id,bk_asst_inst_id', ...want.map((p) => `${p.src},${p.dst}`)]));
    const report = join(tmp.dir, 'kill-assoc.json');
    sim.setFaults({ latencyMs: 20, ops: ['batch_create_instance_association'] });
    let answered = 0;
    const r = await runWithHook(['associate', input, '--asst-id', 'bk_switch_connect_host', '--report', report, ...FAST, '--batch-size', '20', '--concurrency', '2'], cmdbEnv(sim, 'apigw'), (line, child) => {
      if (/batch_create_instance_association -> 200/.test(line) && ++answered === 4) child.kill('SIGKILL');
    });
    expect(r.code).toBe(null);
    sim.setFaults({});
    const again = await runCli(['associate', input, '--asst-id', 'bk_switch_connect_host', '--resume', report, ...FAST], { env: cmdbEnv(sim, 'apigw') });
    expect(again.code, again.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expectLinkedOnce(rows, want);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });
});

describe('Ctrl-C mid-run', () => {
  it('SIGINT: batches in flight finish, the rest unsent, exit 130; --resume finishes', async () => {
    const assets = range(300).map((i) => `INT-${i}`);
    const input = switchInput('int-in.csv', assets);
    const report = join(tmp.dir, 'int.csv');
    sim.setFaults({ latencyMs: 20, ops: ['batch_create_inst'] });
    let answered = 0;
    const r = await runWithHook(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST, '--concurrency', '2'], cmdbEnv(sim, 'esb'), (line, child) => {
      if (/batch_create_inst -> 200/.test(line) && ++answered === 5) child.kill('SIGINT');
    });
    expect(r.code).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 300, exit_code: 130 });
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    expect(new Set(rows.map((x) => x.status))).toEqual(new Set(['ok', 'unsent']));
    // The report tells the truth: ok exactly for the rows in the store.
    const store = switchesByAsset();
    for (const [i, a] of assets.entries()) expect(store.has(a), a).toBe(rows[i]!.status === 'ok');
    expect(rows.filter((x) => x.status === 'ok').length).toBeGreaterThanOrEqual(50);
    expect(rows.filter((x) => x.status === 'unsent').length).toBeGreaterThan(0);

    sim.setFaults({});
    const again = await runCli(['create-inst', input, '--obj', 'bk_switch', '--resume', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(again.code, again.stderr).toBe(0);
    const done = readReport(report);
    expectRowsOnce(done, 300);
    expectCreatedOnce(done, assets);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });

  it('SIGTERM stops the same way; a second signal abandons the request in flight: its rows are "outcome unknown", and --resume checks them', async () => {
    const assets = range(200).map((i) => `INT2-${i}`);
    const input = switchInput('int2-in.csv', assets);
    const report = join(tmp.dir, 'int2.ndjson');
    let answered = 0;
    let child: ChildProcess | undefined;
    sim.setFaults({ latencyMs: 10, ops: ['batch_create_inst'] });
    onLog = (line) => {
      // After the 3rd answer, every later create hangs for a long time on the server.
      if (/batch_create_inst -> 200/.test(line) && ++answered === 3) sim.setFaults({ latencyMs: 3000, ops: ['batch_create_inst'] });
    };
    const run = runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST, '--concurrency', '1'], { env: cmdbEnv(sim, 'esb'), onSpawn: (c) => (child = c) });
    // Wait until the 4th create has reached the server (and hangs there), then SIGTERM, then Ctrl-C.
    while ((sim.counters().requests.batch_create_inst ?? 0) < 4) await new Promise((r) => setTimeout(r, 5));
    child!.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    child!.kill('SIGINT');
    const r = await run;
    expect(r.code).toBe(130);
    const rows = readReport(report);
    expectRowsOnce(rows, 200);
    expect(rows.slice(0, 30).every((x) => x.status === 'ok')).toBe(true);
    expect(rows.slice(30, 40).every((x) => x.status === 'failed' && x.error_code === 'outcome_unknown')).toBe(true);
    expect(rows.slice(40).every((x) => x.status === 'unsent')).toBe(true);

    // The abandoned create is still held by the server; it applies when its delay ends. Resume only after that, so
    // --resume meets a fixed server state (it must find rows 31..40 created, not race the late write).
    while (answered < 4) await new Promise((r) => setTimeout(r, 20));
    sim.setFaults({});
    const again = await runCli(['create-inst', input, '--obj', 'bk_switch', '--resume', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(again.code, again.stderr).toBe(0);
    const done = readReport(report);
    expectRowsOnce(done, 200);
    expectCreatedOnce(done, assets);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });
});

describe('the server down from the start', () => {
  it('every command: exit 5, every row unsent, a complete report', async () => {
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}`;
    const cmdb = { CMDB_URL: url, CMDB_GATEWAY: 'esb', BK_APP_CODE: 'app', BK_APP_SECRET: 'down-secret', BK_USERNAME: 'admin' };
    const feishu = { FEISHU_URL: url, FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: 'down-secret' };
    const sw = switchInput('down-create.csv', range(5).map((i) => `DOWN-${i}`));
    const upd = tmp.file('down-upd.csv', csv(['bk_inst_id,bk_sn', '1001,a', '1002,b', '1003,c']));
    const asst = tmp.file('down-asst.csv', csv(['bk_inst_id,bk_asst_inst_id', '1001,20', '1002,21']));
    const rec = tmp.file('down-rec.ndjson', '{"_id":"1","status":"x"}\n{"_id":"2","status":"y"}\n');
    const runs: Array<[string, string[], Record<string, string>, number]> = [
      ['create-inst', [sw, '--obj', 'bk_switch'], cmdb, 5],
      ['create-inst', [sw, '--obj', 'bk_switch', '--no-schema'], cmdb, 5],
      ['update-inst', [upd, '--obj', 'bk_switch'], cmdb, 3],
      ['associate', [asst, '--asst-id', 'bk_switch_connect_host'], cmdb, 2],
      ['apaas-update', [rec, '--namespace', NS, '--object', 'device'], feishu, 2],
    ];
    for (const [i, [cmd, args, env, total]] of runs.entries()) {
      const report = join(tmp.dir, `down-${i}.csv`);
      const r = await runCli([cmd, ...args, '--report', report, '--retries', '2', '--retry-delay', '1', '--no-progress', '--json'], { env });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(5);
      const summary = JSON.parse(r.stdout);
      expect(summary, cmd).toMatchObject({ total, ok: 0, unsent: total, exit_code: 5 });
      expect(summary.error).toMatch(/unreachable|could not be reached|ECONNREFUSED/i);
      const rows = readReport(report);
      expectRowsOnce(rows, total);
      expect(rows.every((x) => x.status === 'unsent'), cmd).toBe(true);
    }
  });
});

describe('the server fails mid-run', () => {
  it('keeps answering 5xx: after --retries that batch is failed, the rest unsent, exit 5; --retry-failed sends only those', async () => {
    const ids = range(100).map((i) => sim.store.insert('bk_switch', { bk_inst_name: `m-${i}`, bk_asset_id: `MID-${i}` }));
    const input = tmp.file('mid-5xx-in.csv', csv(['bk_inst_id,bk_sn', ...ids.map((id, i) => `${id},SN-MID-${i}`)]));
    const report = join(tmp.dir, 'mid-5xx.csv');
    let answered = 0;
    const r = await runWithHook(['update-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST, '--concurrency', '1', '--retries', '2'], cmdbEnv(sim, 'esb'), (line) => {
      if (/batch_update_inst -> 200/.test(line) && ++answered === 3) sim.setFaults({ error5xxRate: 1, ops: ['batch_update_inst'] });
    });
    expect(r.code).toBe(5);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ total: 100, ok: 30, failed: 10, unsent: 60, exit_code: 5 });
    expect(summary.error).toMatch(/kept failing/);
    const rows = readReport(report);
    expectRowsOnce(rows, 100);
    expect(rows.map((x) => x.status)).toEqual([...Array(30).fill('ok'), ...Array(10).fill('failed'), ...Array(60).fill('unsent')]);
    expect(rows[35]!.error).toMatch(/kept failing/);
    for (const [i, id] of ids.entries()) expect(sim.store.instance('bk_switch', id)!.bk_sn === `SN-MID-${i}`).toBe(i < 30);

    sim.setFaults({});
    const applied = sim.counters().rowsApplied.batch_update_inst!;
    const again = await runCli(['update-inst', input, '--obj', 'bk_switch', '--retry-failed', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(again.code, again.stderr).toBe(0);
    expect(sim.counters().rowsApplied.batch_update_inst! - applied).toBe(70);
    for (const [i, id] of ids.entries()) expect(sim.store.instance('bk_switch', id)!.bk_sn).toBe(`SN-MID-${i}`);
    expect(readReport(report).every((x) => x.status === 'ok')).toBe(true);
  });

  it('goes away with a create unanswered: those rows are "outcome unknown" (the check failed too), the rest unsent, exit 5', async () => {
    const gone = await withSim({ apigwWindows: false, log: (line) => onLog?.(line) });
    try {
      const assets = range(100).map((i) => `GONE-${i}`);
      const report = join(tmp.dir, 'gone.csv');
      let answered = 0;
      const r = await runWithHook(['create-inst', switchInput('gone-in.csv', assets), '--obj', 'bk_switch', '--report', report, ...FAST, '--concurrency', '1', '--retries', '2'], cmdbEnv(gone, 'esb'), (line) => {
        // The 3rd create is applied, then the server shuts down before answering it.
        if (/batch_create_inst -> 200/.test(line) && ++answered === 3) void gone.close();
      });
      expect(r.code).toBe(5);
      const rows = readReport(report);
      expectRowsOnce(rows, 100);
      expect(rows.slice(0, 20).every((x) => x.status === 'ok')).toBe(true);
      expect(rows.slice(20, 30).every((x) => x.status === 'failed' && x.error_code === 'outcome_unknown')).toBe(true);
      expect(rows.slice(30).every((x) => x.status === 'unsent')).toBe(true);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: 20, failed: 10, unsent: 70, outcome_unknown: 10, exit_code: 5 });
      expect(gone.store.instances('bk_switch').filter((s) => String(s.bk_asset_id).startsWith('GONE-'))).toHaveLength(30);
    } finally {
      await gone.close();
    }
  });
});

describe('the input is never overwritten', () => {
  it('--report, --failed or --resume naming the input file is a usage error, before anything is sent', async () => {
    const input = switchInput('self.csv', ['SELF-1']);
    const before = readFileSync(input, 'utf8');
    for (const flags of [['--report', input], ['--failed', input], ['--resume', input]]) {
      const r = await runCli(['create-inst', input, '--obj', 'bk_switch', ...flags], { env: cmdbEnv(sim, 'esb') });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/is the input file/);
    }
    expect(readFileSync(input, 'utf8')).toBe(before);
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('--retry-failed', () => {
  it('sends only the rows the earlier report has as failed or unsent', async () => {
    // Rows 31..40 collide with existing switches: they fail. The user fixes them in the file and retries.
    const assets = range(40).map((i) => (i < 30 ? `RF-${i}` : `SW-EXIST-${String(i - 29).padStart(4, '0')}`));
    const input = switchInput('rf-in.csv', assets);
    const report = join(tmp.dir, 'rf.csv');
    const first = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(first.code).toBe(3);
    expect(readReport(report).filter((x) => x.status === 'failed').map((x) => x.row)).toEqual(range(10).map((i) => 31 + i));
    const dupsBefore = sim.counters().duplicateKeyAttempts;
    const writesBefore = sim.counters().requests.batch_create_inst!;

    const fixed = assets.map((a, i) => (i < 30 ? a : `RF-FIXED-${i}`));
    writeFileSync(input, readFileSync(switchInput('rf-fixed.csv', fixed)));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--retry-failed', report, ...FAST], { env: cmdbEnv(sim, 'esb') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 40, ok: 40 });
    // One batch of the 10 fixed rows; the 30 ok rows were not sent again (they would have been duplicates).
    expect(sim.counters().requests.batch_create_inst! - writesBefore).toBe(1);
    expect(sim.counters().duplicateKeyAttempts).toBe(dupsBefore);
    const rows = readReport(report);
    expectRowsOnce(rows, 40);
    expectCreatedOnce(rows, fixed);
  });
});
