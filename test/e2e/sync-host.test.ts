/**
 * sync --obj host end to end: the built CLI against the simulator. Hosts are looked up with list_hosts_without_biz,
 * created with add_host_to_resource_pool and updated with batch_update_inst (docs/sync.md, "Hosts").
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmdbEnv, csv, expectRowsOnce, readReport, runCli, useSim } from './helpers.js';

/** When set, the next log line that matches clears the faults (a fault that strikes once). */
let clearOn: RegExp | undefined;
const { sim, tmp } = await useSim({
  log: (line) => {
    if (clearOn?.test(line)) {
      clearOn = undefined;
      sim.setFaults({});
    }
  },
});

const SYNC = ['--obj', 'host', '--key', 'bk_host_innerip'];
const requests = (op: string) => sim.counters().requests[op] ?? 0;
const hostsWith = (ip: string) => sim.store.hosts().filter((h) => h.bk_host_innerip === ip);
const hostAt = (ip: string, cloud = 0) => sim.store.hosts().find((h) => h.bk_host_innerip === ip && h.bk_cloud_id === cloud);

// Seeded: host i (1..200) has bk_host_innerip 10.0.0.i, bk_cloud_id 0, bk_host_name host-00i, bk_os_type '1', bk_comment ''.
const HEADER = 'bk_host_innerip,bk_cloud_id,bk_host_name,bk_os_type,bk_comment';
const EQUAL = '10.0.0.1,0, host-001 ,1,';
const CHANGED_1 = '10.0.0.2,0,web-002,1,'; // bk_host_name
const CHANGED_2 = '10.0.0.3,0,host-003,2,moved'; // bk_os_type, bk_comment
const NEW_1 = '10.9.0.1,0,new-1,1,fresh';
const NEW_2 = '10.9.0.2,0,new-2,2,';

describe.each(['esb', 'apigw'] as const)('sync --obj host via %s', (gateway) => {
  it('new / changed / equal hosts: exact plan totals, one create and one update request, the store equal to the file after', async () => {
    const input = tmp.file(`hosts-${gateway}.csv`, csv([HEADER, EQUAL, CHANGED_1, CHANGED_2, NEW_1, NEW_2]));
    const report = join(tmp.dir, `hosts-${gateway}.report.csv`);
    const r = await runCli(['sync', input, ...SYNC, '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ command: 'sync', total: 5, ok: 4, unchanged: 1, invalid: 0, failed: 0 });
    expect(s.plan).toEqual({ create: 2, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    expect(r.stderr).toContain('plan: 2 to create, 2 to update (3 fields), 1 unchanged');

    expect(requests('list_hosts_without_biz')).toBe(1);
    expect(requests('search_object_instances')).toBe(0);
    expect(requests('add_host_to_resource_pool')).toBe(1);
    expect(requests('batch_update_inst')).toBe(1);
    expect(requests('batch_create_inst')).toBe(0);
    expect(sim.counters().writeRequests).toBe(2);
    expect(sim.counters().rowsApplied.batch_update_inst).toBe(2);

    expect(hostAt('10.0.0.1')).toMatchObject({ bk_host_id: 1, bk_host_name: 'host-001' });
    expect(hostAt('10.0.0.2')).toMatchObject({ bk_host_id: 2, bk_host_name: 'web-002', bk_os_type: '1' });
    expect(hostAt('10.0.0.3')).toMatchObject({ bk_host_id: 3, bk_os_type: '2', bk_comment: 'moved' });
    expect(hostsWith('10.9.0.1')).toEqual([expect.objectContaining({ bk_cloud_id: 0, bk_host_name: 'new-1', bk_os_type: '1', bk_comment: 'fresh' })]);
    expect(hostsWith('10.9.0.2')).toEqual([expect.objectContaining({ bk_cloud_id: 0, bk_host_name: 'new-2', bk_os_type: '2' })]);

    const rows = readReport(report);
    expectRowsOnce(rows, 5);
    expect(rows.map((x) => [x.status, x.action])).toEqual([['unchanged', 'unchanged'], ['ok', 'update'], ['ok', 'update'], ['ok', 'create'], ['ok', 'create']]);
    expect(Number(rows[0]!.id)).toBe(1);
    expect(JSON.parse(String(rows[1]!.before))).toEqual({ bk_host_name: 'host-002' });
    expect(JSON.parse(String(rows[2]!.before))).toEqual({ bk_os_type: '1', bk_comment: '' });
    expect(rows[1]!.detail).toContain('bk_host_name: host-002 → web-002');
    expect(Number(rows[3]!.id)).toBe(hostAt('10.9.0.1')!.bk_host_id);
    expect(Number(rows[4]!.id)).toBe(hostAt('10.9.0.2')!.bk_host_id);

    // A second run of the same file sends nothing.
    const writes = sim.counters().writeRequests;
    const again = await runCli(['sync', input, ...SYNC, '--report', join(tmp.dir, `hosts-again-${gateway}.csv`)], { env: cmdbEnv(sim, gateway) });
    expect(again.code, again.stderr).toBe(0);
    expect(sim.counters().writeRequests).toBe(writes);
    expect(again.stderr).toContain('plan: 0 to create, 0 to update (0 fields), 5 unchanged');
    expect(again.stderr).toContain('nothing to send: the server already holds what the file says');
  });

  it('a host the server refuses is failed with its words; the hosts before and after it are created', async () => {
    // Cloud area 7 does not exist: host_server answers that row in `error`, creates the others, and says 1110004.
    const input = tmp.file(`refused-${gateway}.csv`, csv([HEADER, NEW_1, '10.9.0.7,7,lost,1,', NEW_2]));
    const report = join(tmp.dir, `refused-${gateway}.report.csv`);
    const r = await runCli(['sync', input, ...SYNC, '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 3, ok: 2, failed: 1 });
    expect(requests('add_host_to_resource_pool')).toBe(1);
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'failed', 'ok']);
    expect(rows[1]!.error).toContain('bk-network area does not exist');
    expect(hostsWith('10.9.0.7')).toEqual([]);
    expect(hostsWith('10.9.0.1')).toHaveLength(1);
    expect(hostsWith('10.9.0.2')).toHaveLength(1);
  });
});

describe('revert of a host sync', () => {
  it('puts the updates back; the created hosts are failed up front with the reason, no delete request is sent', async () => {
    const env = cmdbEnv(sim, 'apigw');
    const input = tmp.file('revert-hosts.csv', csv([HEADER, EQUAL, CHANGED_1, CHANGED_2, NEW_1, NEW_2]));
    const report = join(tmp.dir, 'revert-hosts.report.csv');
    const s = await runCli(['sync', input, ...SYNC, '--report', report], { env });
    expect(s.code, s.stderr).toBe(0);
    const created = [hostAt('10.9.0.1')!.bk_host_id, hostAt('10.9.0.2')!.bk_host_id];
    const before = sim.counters().requests;

    const back = join(tmp.dir, 'revert-hosts.revert.ndjson');
    // No --yes: nothing is deleted, so nothing needs confirming.
    const r = await runCli(['revert', report, '--report', back, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'revert', total: 5, ok: 2, failed: 2, unchanged: 1 });
    expect(requests('batch_delete_inst')).toBe(before.batch_delete_inst ?? 0);
    expect(requests('batch_update_inst')).toBe((before.batch_update_inst ?? 0) + 1);
    expect(sim.counters().rowsApplied.batch_update_inst).toBe(4); // 2 by the sync, 2 put back

    expect(hostAt('10.0.0.2')).toMatchObject({ bk_host_id: 2, bk_host_name: 'host-002' });
    expect(hostAt('10.0.0.3')).toMatchObject({ bk_host_id: 3, bk_os_type: '1', bk_comment: '' });
    expect([hostAt('10.9.0.1')?.bk_host_id, hostAt('10.9.0.2')?.bk_host_id]).toEqual(created);

    const rows = readReport(back);
    expect(rows.map((x) => [x.status, x.error_code ?? ''])).toEqual([['unchanged', ''], ['ok', ''], ['ok', ''], ['failed', 'not_supported'], ['failed', 'not_supported']]);
    expect(rows[3]!.id).toBe(created[0]);
    expect(rows[3]!.error).toContain(`host ${created[0]}, created by the run, is not deleted: cmdb-bulk does not delete hosts (1199084). Next: delete it in CMDB (Hosts → Resource Pool) if it should go`);
    expect(r.stderr).toContain('revert: 2 to put back, 0 to delete, 0 to create again, 0 conflict(s) left untouched, 2 host(s) left as they are (revert does not delete or create hosts)');
    expect(r.stderr).toMatch(/plan: 0 to create, 2 to update \(\d+ fields?\), 0 unchanged\n/); // the refused hosts are no deletes
  });
});

describe('sync --obj host: which host a row means', () => {
  it('the row\'s bk_cloud_id picks the host among those with its IP; without it a shared IP is a conflict, never written', async () => {
    const other = sim.store.insert('host', { bk_host_innerip: '10.0.0.5', bk_cloud_id: 2, bk_host_name: 'far-005', bk_os_type: '1' });
    const input = tmp.file('scoped.csv', csv([HEADER, '10.0.0.5,0,near-005,1,', '10.0.0.5,2,far-renamed,1,']));
    const r = await runCli(['sync', input, ...SYNC, '--report', join(tmp.dir, 'scoped.report.csv'), '--json'], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).plan).toMatchObject({ create: 0, update: 2, conflict: 0 });
    expect(hostAt('10.0.0.5', 0)).toMatchObject({ bk_host_id: 5, bk_host_name: 'near-005' });
    expect(hostAt('10.0.0.5', 2)).toMatchObject({ bk_host_id: other, bk_host_name: 'far-renamed' });

    const writes = sim.counters().writeRequests;
    const bare = tmp.file('bare.csv', csv(['bk_host_innerip,bk_host_name', '10.0.0.5,whoever', '10.0.0.6,six']));
    const report = join(tmp.dir, 'bare.report.csv');
    const b = await runCli(['sync', bare, ...SYNC, '--report', report], { env: cmdbEnv(sim, 'apigw') });
    expect(b.code).toBe(3);
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.error_code ?? ''])).toEqual([['failed', 'conflict'], ['ok', '']]);
    expect(rows[0]!.error).toContain('2 host instances have bk_host_innerip "10.0.0.5"');
    expect(rows[0]!.error).toContain('give the row a bk_cloud_id');
    expect(hostAt('10.0.0.5', 0)!.bk_host_name).toBe('near-005');
    expect(hostAt('10.0.0.6')!.bk_host_name).toBe('six');
    expect(sim.counters().writeRequests - writes).toBe(1);
  });

  it('a host to create needs its bk_cloud_id; two rows for one host stop the file before anything is sent', async () => {
    const noCloud = tmp.file('nocloud.csv', csv(['bk_host_innerip,bk_host_name', '10.9.1.1,new']));
    const report = join(tmp.dir, 'nocloud.report.csv');
    const r = await runCli(['sync', noCloud, ...SYNC, '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(readReport(report)[0]!.error).toContain('bk_cloud_id is required to create a host');

    const twice = tmp.file('twice.csv', csv([HEADER, NEW_1, '10.9.0.1,0,again,1,', '10.9.0.1,3,elsewhere,1,']));
    const t = await runCli(['sync', twice, ...SYNC, '--report', join(tmp.dir, 'twice.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('bk_host_innerip "10.9.0.1" (bk_cloud_id 0) is also in row 1');
    expect(t.stderr).not.toContain('(bk_cloud_id 3) is also');

    const multi = tmp.file('multi.csv', csv([HEADER, '10.9.0.8,10.9.0.9,0,x,1,'.replace('10.9.0.8,10.9.0.9', '"10.9.0.8,10.9.0.9"')]));
    const m = await runCli(['sync', multi, ...SYNC, '--report', join(tmp.dir, 'multi.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('holds several values: name each host by one of them');
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('a host with several inner IPs is found by any one of them', async () => {
    sim.store.instanceMap('host').get(7)!.bk_host_innerip = '10.0.0.7,10.8.0.7';
    const input = tmp.file('multi-ip.csv', csv(['bk_host_innerip,bk_cloud_id,bk_host_name', '10.8.0.7,0,seven']));
    const r = await runCli(['sync', input, ...SYNC, '--report', join(tmp.dir, 'multi-ip.report.csv'), '--json'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).plan).toMatchObject({ create: 0, update: 1 });
    expect(sim.store.instance('host', 7)).toMatchObject({ bk_host_name: 'seven' });
    expect(requests('add_host_to_resource_pool')).toBe(0);
  });
});

describe('sync --obj host: unclear answers, plans, what is refused', () => {
  it('a create answered 504 after the server applied it is settled by the key: each host exists once', async () => {
    sim.setFaults({ appliedThen504Rate: 1, ops: ['add_host_to_resource_pool'] });
    clearOn = /applied, then 504/;
    const input = tmp.file('u504.csv', csv([HEADER, NEW_1, NEW_2, CHANGED_1]));
    const report = join(tmp.dir, 'u504.report.csv');
    const r = await runCli(['sync', input, ...SYNC, '--report', report, '--json'], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code, r.stderr).toBe(0);
    expect(sim.counters().faultsInjected.appliedThen504).toBe(1);
    expect(requests('add_host_to_resource_pool')).toBe(1); // never sent again
    expect(hostsWith('10.9.0.1')).toHaveLength(1);
    expect(hostsWith('10.9.0.2')).toHaveLength(1);
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.action])).toEqual([['ok', 'create'], ['ok', 'create'], ['ok', 'update']]);
    expect(Number(rows[0]!.id)).toBe(hostAt('10.9.0.1')!.bk_host_id);
  });

  it('--plan-only sends nothing; --apply applies the plan and fails a host changed since', async () => {
    const input = tmp.file('plan.csv', csv([HEADER, EQUAL, CHANGED_1, CHANGED_2, NEW_1]));
    const planPath = join(tmp.dir, 'hosts.plan.ndjson');
    const planned = await runCli(['sync', input, ...SYNC, '--plan-only', '--plan', planPath, '--json'], { env: cmdbEnv(sim, 'esb') });
    expect(planned.code, planned.stderr).toBe(0);
    expect(JSON.parse(planned.stdout).plan).toEqual({ create: 1, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    expect(sim.counters().writeRequests).toBe(0);
    const lines = readFileSync(planPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.action)).toEqual(['unchanged', 'update', 'update', 'create']);
    expect(lines[1]).toMatchObject({ obj: 'host', key: 'bk_host_innerip', value: '10.0.0.2', id: 2, before: { bk_host_name: 'host-002' }, after: { bk_host_name: 'web-002' } });
    expect(lines[3]).toMatchObject({ action: 'create', value: '10.9.0.1', after: { bk_host_innerip: '10.9.0.1', bk_cloud_id: 0, bk_host_name: 'new-1' } });

    sim.store.instanceMap('host').get(3)!.bk_comment = 'theirs'; // someone changes host 3 meanwhile
    const report = join(tmp.dir, 'hosts-apply.report.csv');
    const r = await runCli(['sync', '--apply', planPath, '--report', report, '--json'], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 4, ok: 2, failed: 1, unchanged: 1 });
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.error_code ?? ''])).toEqual([['unchanged', ''], ['ok', ''], ['failed', 'conflict'], ['ok', '']]);
    expect(rows[2]!.error).toContain('bk_comment is now "theirs"');
    expect(hostAt('10.0.0.2')!.bk_host_name).toBe('web-002');
    expect(hostAt('10.0.0.3')).toMatchObject({ bk_os_type: '1', bk_comment: 'theirs' });
    expect(hostsWith('10.9.0.1')).toHaveLength(1);
    expect(requests('add_host_to_resource_pool')).toBe(1);
  });

  it('--prune with --obj host is refused before anything is sent; other built-in models are refused naming why', async () => {
    const input = tmp.file('prune.csv', csv([HEADER, EQUAL]));
    const p = await runCli(['sync', input, ...SYNC, '--prune', '--yes'], { env: cmdbEnv(sim, 'esb') });
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('sync --prune cannot delete hosts');
    expect(p.stderr).toContain('delete_host');
    expect(p.stderr).toContain('cmdb-bulk sync');

    const biz = await runCli(['sync', tmp.file('biz.csv', csv(['bk_biz_name', 'x'])), '--obj', 'biz', '--key', 'bk_biz_name'], { env: cmdbEnv(sim, 'esb') });
    expect(biz.code).toBe(2);
    expect(biz.stderr).toContain('sync cannot keep "biz" in step: it is a built-in model');
    expect(biz.stderr).toContain('1199084');
    expect(Object.keys(sim.counters().requests)).toEqual([]);
  });
});
