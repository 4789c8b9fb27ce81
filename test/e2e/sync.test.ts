/** sync end to end: the built CLI against the simulator over loopback — plan totals, writes only where needed. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmdbEnv, csv, expectRowsOnce, feishuEnv, readReport, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

const byAsset = (id: string) => sim.store.instances('bk_switch').find((s) => s.bk_asset_id === id);
const requests = (op: string) => sim.counters().requests[op] ?? 0;
const SYNC = ['--obj', 'bk_switch', '--key', 'bk_asset_id'];

// Seeded: SW-EXIST-000i has port_count 48, is_managed true, vendor cisco/huawei/h3c by i % 3 (1: huawei, 2: h3c, 3: cisco).
const HEADER = 'bk_inst_name,bk_asset_id,port_count,vendor,is_managed';
const EQUAL = ' switch-exist-01 ,SW-EXIST-0001,48,huawei,true'; // equal once trimmed
const CHANGED_1 = 'switch-exist-02,SW-EXIST-0002,24,h3c,true'; // port_count
const CHANGED_2 = 'switch-exist-03,SW-EXIST-0003,48,cisco,false'; // is_managed
const NEW_1 = 'new-one,SW-SYNC-1,8,cisco,true';
const NEW_2 = 'new-two,SW-SYNC-2,16,huawei,false';

describe.each(['esb', 'apigw'] as const)('sync via %s', (gateway) => {
  it('a mixed file: exact plan totals, writes only for created and changed rows, the store equal to the file after', async () => {
    const input = tmp.file(`mixed-${gateway}.csv`, csv([HEADER, EQUAL, CHANGED_1, CHANGED_2, NEW_1, NEW_2, 'dup,SW-SYNC-2,16,huawei,false', 'bad,SW-SYNC-3,5000,cisco,true']));
    const report = join(tmp.dir, `mixed-${gateway}.report.csv`);
    const r = await runCli(['sync', input, ...SYNC, '--skip-invalid', '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3); // two invalid rows
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ command: 'sync', total: 7, ok: 4, unchanged: 1, invalid: 2, failed: 0, unsent: 0 });
    expect(s.plan).toEqual({ create: 2, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    expect(r.stderr).toContain('plan: 2 to create, 2 to update (2 fields), 1 unchanged, 2 invalid');

    expect(requests('batch_create_inst')).toBe(1);
    expect(requests('batch_update_inst')).toBe(1);
    expect(sim.counters().rowsApplied.batch_update_inst).toBe(2);
    expect(sim.counters().writeRequests).toBe(2);

    expect(byAsset('SW-EXIST-0002')).toMatchObject({ port_count: 24, vendor: 'h3c', is_managed: true, bk_inst_name: 'switch-exist-02' });
    expect(byAsset('SW-EXIST-0003')).toMatchObject({ port_count: 48, is_managed: false });
    expect(byAsset('SW-SYNC-1')).toMatchObject({ bk_inst_name: 'new-one', port_count: 8, vendor: 'cisco', is_managed: true });
    expect(byAsset('SW-SYNC-2')).toMatchObject({ bk_inst_name: 'new-two', port_count: 16, is_managed: false });
    expect(byAsset('SW-SYNC-3')).toBeUndefined();

    const rows = readReport(report);
    expectRowsOnce(rows, 7);
    expect(rows.map((x) => [x.status, x.action])).toEqual([
      ['unchanged', 'unchanged'], ['ok', 'update'], ['ok', 'update'], ['ok', 'create'], ['ok', 'create'], ['invalid', 'invalid'], ['invalid', 'invalid'],
    ]);
    expect(Number(rows[0]!.id)).toBe(byAsset('SW-EXIST-0001')!.bk_inst_id);
    expect(JSON.parse(String(rows[1]!.before))).toEqual({ port_count: 48 });
    expect(JSON.parse(String(rows[2]!.before))).toEqual({ is_managed: true });
    expect(rows[1]!.detail).toContain('port_count: 48 → 24');
    expect(rows[5]!.error).toContain('"SW-SYNC-2" is also in row 5');
    expect(rows[6]!.error).toMatch(/port_count/);
  });

  it('a second run of the same file sends nothing and says so', async () => {
    const input = tmp.file(`twice-${gateway}.csv`, csv([HEADER, EQUAL, CHANGED_1, NEW_1]));
    const first = await runCli(['sync', input, ...SYNC, '--json', '--report', join(tmp.dir, `twice-1-${gateway}.csv`)], { env: cmdbEnv(sim, gateway) });
    expect(first.code).toBe(0);
    const writes = sim.counters().writeRequests;
    expect(writes).toBe(2);
    const second = await runCli(['sync', input, ...SYNC, '--report', join(tmp.dir, `twice-2-${gateway}.csv`)], { env: cmdbEnv(sim, gateway) });
    expect(second.code).toBe(0);
    expect(sim.counters().writeRequests).toBe(writes);
    expect(second.stderr).toContain('plan: 0 to create, 0 to update (0 fields), 3 unchanged');
    expect(second.stderr).toContain('nothing to send: the server already holds what the file says');
    expect(second.stderr).toContain('Nothing to change: all 3 rows are already as the file says; nothing was sent.');
  });

  it('two rows with the same key stop the file before anything is sent', async () => {
    const input = tmp.file(`dupkey-${gateway}.csv`, csv([HEADER, NEW_1, 'again,SW-SYNC-1,9,cisco,true']));
    const r = await runCli(['sync', input, ...SYNC, '--report', join(tmp.dir, `dupkey-${gateway}.report.csv`)], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bk_asset_id "SW-SYNC-1" is also in row 1');
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('sync --plan-only and --apply', () => {
  it('writes the plan and sends nothing; applying it later fails the rows the server changed since, and applies the rest', async () => {
    const input = tmp.file('plan.csv', csv([HEADER, EQUAL, CHANGED_1, CHANGED_2, NEW_1, NEW_2]));
    const planPath = join(tmp.dir, 'plan.ndjson');
    const planned = await runCli(['sync', input, ...SYNC, '--plan-only', '--plan', planPath, '--json'], { env: cmdbEnv(sim, 'esb') });
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout).plan).toEqual({ create: 2, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    expect(sim.counters().writeRequests).toBe(0);
    const lines = readFileSync(planPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.action)).toEqual(['unchanged', 'update', 'update', 'create', 'create']);
    expect(lines[1]).toMatchObject({ row: 2, obj: 'bk_switch', key: 'bk_asset_id', value: 'SW-EXIST-0002', before: { port_count: 48 }, after: { port_count: 24 } });

    // Meanwhile someone changes SW-EXIST-0002 and creates SW-SYNC-1.
    const s2 = sim.store.instanceMap('bk_switch').get(byAsset('SW-EXIST-0002')!.bk_inst_id as number)!;
    s2.port_count = 30;
    const made = await runCli(['create-inst', tmp.file('other.csv', csv(['bk_inst_name,bk_asset_id', 'theirs,SW-SYNC-1'])), '--obj', 'bk_switch', '--report', join(tmp.dir, 'other.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(made.code).toBe(0);
    const writesBefore = sim.counters().writeRequests;

    const report = join(tmp.dir, 'apply.report.csv');
    const r = await runCli(['sync', '--apply', planPath, '--report', report, '--json'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 5, ok: 2, failed: 2, unchanged: 1 });
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.error_code ?? ''])).toEqual([['unchanged', ''], ['failed', 'conflict'], ['ok', ''], ['failed', 'conflict'], ['ok', '']]);
    expect(rows[1]!.error).toContain('port_count is now 30, the plan saw 48');
    expect(rows[3]!.error).toContain('SW-SYNC-1');
    expect(byAsset('SW-EXIST-0002')!.port_count).toBe(30); // never overwritten
    expect(byAsset('SW-SYNC-1')!.bk_inst_name).toBe('theirs');
    expect(byAsset('SW-EXIST-0003')!.is_managed).toBe(false);
    expect(byAsset('SW-SYNC-2')).toMatchObject({ bk_inst_name: 'new-two' });
    expect(sim.counters().writeRequests - writesBefore).toBe(2);
  });
});

describe('sync conflicts', () => {
  // Through the ESB, which cannot read unique rules: any field may be the key, and a shared value is a conflict.
  it('a key that matches several instances is failed (conflict) and not written; the other rows go on', async () => {
    const map = sim.store.instanceMap('bk_switch');
    const [a, b] = [byAsset('SW-EXIST-0004')!, byAsset('SW-EXIST-0005')!];
    map.get(b.bk_inst_id as number)!.bk_sn = a.bk_sn; // bk_sn is not unique: two instances now share it
    const input = tmp.file('sn.csv', csv(['bk_sn,port_count', `${String(a.bk_sn)},12`, 'SN-SW-0006,12']));
    const report = join(tmp.dir, 'sn.report.csv');
    const r = await runCli(['sync', input, '--obj', 'bk_switch', '--key', 'bk_sn', '--report', report, '--json'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).plan).toEqual({ create: 0, update: 1, unchanged: 0, delete: 0, conflict: 1 });
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.error_code ?? '', x.action])).toEqual([['failed', 'conflict', 'conflict'], ['ok', '', 'update']]);
    expect(rows[0]!.error).toMatch(/2 bk_switch instances have bk_sn/);
    expect(byAsset('SW-EXIST-0004')!.port_count).toBe(48);
    expect(byAsset('SW-EXIST-0006')!.port_count).toBe(12);
  });
});

describe('sync --prune', () => {
  // Seeded: SW-EXIST-0001 (id 1001) has associations; the file names every seeded switch but 0001, 0003 and 0004.
  const keep = () => sim.store.instances('bk_switch').map((s) => String(s.bk_asset_id)).filter((k) => !['SW-EXIST-0001', 'SW-EXIST-0003', 'SW-EXIST-0004'].includes(k));
  const pruneFile = (name: string) => tmp.file(name, csv(['bk_asset_id', ...keep()]));

  it('without --yes (input not a terminal) deletes nothing and says what --yes would delete', async () => {
    const r = await runCli(['sync', pruneFile('prune-no.csv'), ...SYNC, '--prune', '--json', '--report', join(tmp.dir, 'prune-no.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s.plan).toMatchObject({ create: 0, update: 0, delete: 3 });
    expect(s.pruned).toMatchObject({ candidates: 3, deleted: 0 });
    expect(s.pruned.refused).toContain('needs --yes');
    expect(sim.counters().writeRequests).toBe(0);
    expect(byAsset('SW-EXIST-0003')).toBeDefined();
  });

  it('with --yes deletes the instances the file does not name, and reports the one with associations, not deleted', async () => {
    const report = join(tmp.dir, 'prune-yes.report.csv');
    const r = await runCli(['sync', pruneFile('prune-yes.csv'), ...SYNC, '--prune', '--yes', '--json', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s.pruned).toMatchObject({ candidates: 3, deleted: 2, kept: 1, report: `${report}.prune.ndjson` });
    expect(byAsset('SW-EXIST-0003')).toBeUndefined();
    expect(byAsset('SW-EXIST-0004')).toBeUndefined();
    expect(byAsset('SW-EXIST-0001')).toBeDefined();
    expect(sim.store.instances('bk_switch').map((x) => String(x.bk_asset_id)).sort()).toEqual(['SW-EXIST-0001', ...keep()].sort());
    const lines = readFileSync(`${report}.prune.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const kept = lines.find((l) => l.status === 'failed');
    expect(kept).toMatchObject({ action: 'delete', id: 1001, error_code: 1101075 });
    expect(kept.error).toContain('associations');
    expect(lines.find((l) => l.before.bk_asset_id === 'SW-EXIST-0003')).toMatchObject({ status: 'ok', before: { port_count: 48, bk_inst_name: 'switch-exist-03' } });
  });

  it('--max-delete caps it: more instances than that, nothing deleted', async () => {
    const r = await runCli(['sync', pruneFile('prune-max.csv'), ...SYNC, '--prune', '--yes', '--max-delete', '2', '--json', '--report', join(tmp.dir, 'prune-max.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).pruned.refused).toContain('more than --max-delete 2');
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('apaas-sync', () => {
  const NS = ['--namespace', 'package_demo__c', '--object', 'device', '--key', 'serial_no'];
  const rec = (serial: string) => sim.store.records('package_demo__c', 'device').filter((r) => r.serial_no === serial);
  const lines = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  // Seeded: DEV-SN-0001… with status online, cpu_cores 8.
  const EQUAL_R = { serial_no: 'DEV-SN-0001', status: 'online', cpu_cores: 8 };
  const CHANGED_R = { serial_no: 'DEV-SN-0002', status: 'offline', cpu_cores: 8 };
  const NEW_R = { serial_no: 'DEV-SYNC-1', name: 'new', status: 'online', cpu_cores: 4 };

  it('a mixed file: plan totals, a create and a one-field update only, duplicate key invalid; a second run writes nothing', async () => {
    const input = tmp.file('apaas-mixed.ndjson', lines([EQUAL_R, CHANGED_R, NEW_R, { ...NEW_R, name: 'again' }]));
    const report = join(tmp.dir, 'apaas-mixed.report.ndjson');
    const r = await runCli(['apaas-sync', input, ...NS, '--skip-invalid', '--report', report, '--json'], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ ok: 2, unchanged: 1, invalid: 1 });
    expect(s.plan).toEqual({ create: 1, update: 1, unchanged: 1, delete: 0, conflict: 0 });
    expect(requests('feishu_batch_create')).toBe(1);
    expect(requests('feishu_batch_update')).toBe(1);
    expect(sim.counters().rowsApplied.feishu_batch_update).toBe(1);
    expect(rec('DEV-SN-0002')[0]).toMatchObject({ status: 'offline', cpu_cores: 8, name: 'device-002' });
    expect(rec('DEV-SYNC-1')).toHaveLength(1);
    expect(rec('DEV-SYNC-1')[0]).toMatchObject({ name: 'new', cpu_cores: 4 });
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.action])).toEqual([['unchanged', 'unchanged'], ['ok', 'update'], ['ok', 'create'], ['invalid', 'invalid']]);
    expect(rows[1]!.before).toEqual({ status: 'online' });

    const again = tmp.file('apaas-again.ndjson', lines([EQUAL_R, CHANGED_R, NEW_R]));
    const writes = sim.counters().writeRequests;
    const r2 = await runCli(['apaas-sync', again, ...NS, '--report', join(tmp.dir, 'apaas-again.report.ndjson'), '--json'], { env: feishuEnv(sim) });
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ unchanged: 3, ok: 0 });
    expect(sim.counters().writeRequests).toBe(writes);
  });
});
