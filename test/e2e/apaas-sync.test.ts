/**
 * apaas-sync end to end: the built CLI against the simulator's Feishu front — plan totals, writes only where needed
 * (the request bodies read from --verbose), --plan-only / --apply with conflicts, --prune and its guards.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, expectRowsOnce, feishuEnv, readReport, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

const NS = 'package_demo__c';
const OBJ = 'device';
const TARGET = ['--namespace', NS, '--object', OBJ, '--key', 'serial_no'];
const table = () => sim.store.table(NS, OBJ);
const bySerial = (s: string) => [...table().values()].filter((r) => r.serial_no === s);
const one = (s: string) => {
  const found = bySerial(s);
  expect(found, `records with serial_no ${s}`).toHaveLength(1);
  return found[0]!;
};
const requests = (op: string) => sim.counters().requests[op] ?? 0;
const readLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** The `records` of each request of this op that --verbose traced (→ lines on stderr). */
function sentRecords(stderr: string, op: 'batch_update' | 'batch_create'): unknown[][] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('→ ') && l.includes(`[${op}]`))
    .map((l) => JSON.parse(JSON.parse(l.slice(l.indexOf('{'))).records as string) as unknown[]);
}

// Seeded: DEV-SN-000i: name device-00i, status online, cpu_cores 8, location rack-0(i % 10 + 1).
const HEADER = 'serial_no,name,status,cpu_cores:int,location';
const EQUAL = 'DEV-SN-0001,device-001, online ,8,rack-02'; // equal once trimmed
const CHANGED_STATUS = 'DEV-SN-0002,device-002,offline,8,rack-03';
const CHANGED_CORES = 'DEV-SN-0003,device-003,online,16,rack-04 '; // location equal once trimmed
const NEW_1 = 'DEV-NEW-1,new-1,online,4,rack-09';
const NEW_2 = 'DEV-NEW-2,new-2,offline,2,rack-10';

describe('apaas-sync: a mixed file', () => {
  it('plans exact totals, writes only the created rows and the changed fields, and leaves the object equal to the file', async () => {
    const input = tmp.file('mixed.csv', csv([HEADER, EQUAL, CHANGED_STATUS, CHANGED_CORES, NEW_1, NEW_2, 'DEV-NEW-2,again,online,2,rack-10', 'DEV-NEW-3,bad,online,four,rack-01', ',no-key,online,1,rack-01']));
    const report = join(tmp.dir, 'mixed.report.csv');
    const r = await runCli(['apaas-sync', input, ...TARGET, '--skip-invalid', '--verbose', '--report', report, '--json'], { env: feishuEnv(sim) });
    expect(r.code).toBe(3); // three invalid rows
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ command: 'apaas-sync', total: 8, ok: 4, unchanged: 1, invalid: 3, failed: 0, unsent: 0 });
    expect(s.plan).toEqual({ create: 2, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    expect(r.stderr).toContain('plan: 2 to create, 2 to update (2 fields), 1 unchanged, 3 invalid');

    // One create and one update request; the update carries _id and the changed field only (not the key).
    expect(requests('feishu_batch_create')).toBe(1);
    expect(requests('feishu_batch_update')).toBe(1);
    expect(sim.counters().writeRequests).toBe(2);
    expect(sentRecords(r.stderr, 'batch_update')).toEqual([[{ _id: one('DEV-SN-0002')._id, status: 'offline' }, { _id: one('DEV-SN-0003')._id, cpu_cores: 16 }]]);
    expect(sentRecords(r.stderr, 'batch_create')).toEqual([[
      { serial_no: 'DEV-NEW-1', name: 'new-1', status: 'online', cpu_cores: 4, location: 'rack-09' },
      { serial_no: 'DEV-NEW-2', name: 'new-2', status: 'offline', cpu_cores: 2, location: 'rack-10' },
    ]]);

    // The object now says what the valid rows say (text compared trimmed, as the comparison does).
    for (const line of [EQUAL, CHANGED_STATUS, CHANGED_CORES, NEW_1, NEW_2]) {
      const [serial_no, name, status, cores, location] = line.split(',').map((c) => c.trim());
      expect(one(serial_no!)).toMatchObject({ serial_no, name, status, cpu_cores: Number(cores), location });
    }
    expect(bySerial('DEV-NEW-3')).toHaveLength(0);

    const rows = readReport(report);
    expectRowsOnce(rows, 8);
    expect(rows.map((x) => [x.status, x.action])).toEqual([
      ['unchanged', 'unchanged'], ['ok', 'update'], ['ok', 'update'], ['ok', 'create'], ['ok', 'create'], ['invalid', 'invalid'], ['invalid', 'invalid'], ['invalid', 'invalid'],
    ]);
    expect(rows[0]!.id).toBe(one('DEV-SN-0001')._id);
    expect(rows[3]!.id).toBe(one('DEV-NEW-1')._id);
    expect(JSON.parse(String(rows[1]!.before))).toEqual({ status: 'online' });
    expect(JSON.parse(String(rows[2]!.before))).toEqual({ cpu_cores: 8 });
    expect(rows[2]!.detail).toContain('cpu_cores: 8 → 16');
    expect(rows[5]!.error).toContain('"DEV-NEW-2" is also in row 5');
    expect(rows[6]!.error).toContain('cpu_cores');
    expect(rows[7]!.error).toContain('serial_no is empty');

    // The same rows again: every one unchanged, no write at all.
    const again = tmp.file('again.csv', csv([HEADER, EQUAL, CHANGED_STATUS, CHANGED_CORES, NEW_1, NEW_2]));
    const writes = sim.counters().writeRequests;
    const r2 = await runCli(['apaas-sync', again, ...TARGET, '--report', join(tmp.dir, 'again.report.csv'), '--json'], { env: feishuEnv(sim) });
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ total: 5, ok: 0, unchanged: 5 });
    expect(sim.counters().writeRequests).toBe(writes);
    expect(r2.stderr).toContain('nothing to send: the server already holds what the file says');
  });
});

describe('apaas-sync: aPaaS field kinds (header hints)', () => {
  it('converts hinted cells as apaas-update does and compares them by kind: a second run, and the server\'s own forms, cost no write', async () => {
    // The server holds DEV-SN-0004's integer as a number and its lookup with the target's name beside the _id.
    const rec4 = one('DEV-SN-0004');
    Object.assign(table().get(String(rec4._id))!, { tags: ['lab', 'core'], rack: { _id: '1798681438085042', _name: 'R42' }, label: { zh_CN: '交换机', en_US: 'Switch' }, price: '1299.5' });
    const header = 'serial_no,cpu_cores:bigint,tags:multiselect,rack:lookup,label:multilingual,price:decimal,bought_at:datetime';
    const equal4 = 'DEV-SN-0004,8,core;lab,1798681438085042,"{""zh_CN"": ""交换机"", ""en_US"": ""Switch""}",1299.50,';
    const changed5 = 'DEV-SN-0005,+16,core,1798681438085041,Router,10.00,2024-06-01T09:30:00Z';
    const input = tmp.file('kinds.csv', csv([header, equal4, changed5]));
    const r = await runCli(['apaas-sync', input, ...TARGET, '--verbose', '--report', join(tmp.dir, 'kinds.report.csv'), '--json'], { env: feishuEnv(sim) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).plan).toEqual({ create: 0, update: 1, unchanged: 1, delete: 0, conflict: 0 });
    const rec5 = one('DEV-SN-0005');
    expect(sentRecords(r.stderr, 'batch_update')).toEqual([[{
      _id: rec5._id, cpu_cores: '16', tags: ['core'], rack: { _id: '1798681438085041' }, label: { zh_CN: 'Router', en_US: 'Router' }, price: '10.00', bought_at: Date.UTC(2024, 5, 1, 9, 30),
    }]]);

    const writes = sim.counters().writeRequests;
    const again = await runCli(['apaas-sync', input, ...TARGET, '--report', join(tmp.dir, 'kinds-again.report.csv'), '--json'], { env: feishuEnv(sim) });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ unchanged: 2, ok: 0 });
    expect(sim.counters().writeRequests).toBe(writes);
  });
});

describe('apaas-sync --plan-only and --apply', () => {
  it('writes the plan and sends nothing; applying it later fails the rows the server changed since, and applies the rest', async () => {
    const input = tmp.file('plan.csv', csv([HEADER, EQUAL, CHANGED_STATUS, CHANGED_CORES, NEW_1, NEW_2]));
    const planned = await runCli(['apaas-sync', input, ...TARGET, '--plan-only', '--json'], { env: feishuEnv(sim) });
    expect(planned.code).toBe(0);
    const ps = JSON.parse(planned.stdout);
    expect(ps.plan).toEqual({ create: 2, update: 2, unchanged: 1, delete: 0, conflict: 0 });
    const planPath = join(tmp.dir, 'plan.sync.plan.ndjson'); // the default: next to the input
    expect(ps.plan_file).toBe(planPath);
    expect(sim.counters().writeRequests).toBe(0);
    const lines = readLines(planPath);
    expect(lines.map((l) => l.action)).toEqual(['unchanged', 'update', 'update', 'create', 'create']);
    const id2 = one('DEV-SN-0002')._id;
    expect(lines[1]).toEqual({ row: 2, namespace: NS, obj: OBJ, key: 'serial_no', action: 'update', value: 'DEV-SN-0002', id: id2, before: { status: 'online' }, after: { status: 'offline' } });
    expect(lines[3]).toMatchObject({ namespace: NS, action: 'create', value: 'DEV-NEW-1', after: { serial_no: 'DEV-NEW-1', name: 'new-1', cpu_cores: 4 } });

    // A plan is for the command that made it.
    const wrong = await runCli(['sync', '--apply', planPath, '--report', join(tmp.dir, 'wrong.report.csv')], { env: feishuEnv(sim) });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`cmdb-bulk apaas-sync --apply ${planPath}`);

    // Meanwhile someone changes DEV-SN-0002 and creates DEV-NEW-1.
    table().get(String(id2))!.status = 'maintenance';
    const made = await runCli(['apaas-create', tmp.file('other.csv', csv(['serial_no,name', 'DEV-NEW-1,theirs'])), '--namespace', NS, '--object', OBJ, '--key', 'serial_no', '--report', join(tmp.dir, 'other.report.csv')], { env: feishuEnv(sim) });
    expect(made.code).toBe(0);
    const writesBefore = sim.counters().writeRequests;

    const report = join(tmp.dir, 'apply.report.csv');
    const r = await runCli(['apaas-sync', '--apply', planPath, '--verbose', '--report', report, '--json'], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 5, ok: 2, failed: 2, unchanged: 1 });
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.error_code ?? ''])).toEqual([['unchanged', ''], ['failed', 'conflict'], ['ok', ''], ['failed', 'conflict'], ['ok', '']]);
    expect(rows[1]!.error).toContain('status is now "maintenance", the plan saw "online"');
    expect(rows[3]!.error).toContain('DEV-NEW-1');
    expect(one('DEV-SN-0002').status).toBe('maintenance'); // never overwritten
    expect(one('DEV-NEW-1').name).toBe('theirs'); // not created twice
    expect(one('DEV-SN-0003').cpu_cores).toBe(16);
    expect(one('DEV-NEW-2')).toMatchObject({ name: 'new-2', status: 'offline', cpu_cores: 2 });
    expect(sim.counters().writeRequests - writesBefore).toBe(2);
    expect(sentRecords(r.stderr, 'batch_update')).toEqual([[{ _id: one('DEV-SN-0003')._id, cpu_cores: 16 }]]);
  });

  it('--apply refuses a file too, and --namespace / --object / --key other than the plan says', async () => {
    const input = tmp.file('plan2.csv', csv([HEADER, CHANGED_STATUS]));
    const planPath = join(tmp.dir, 'plan2.ndjson');
    const planned = await runCli(['apaas-sync', input, ...TARGET, '--plan-only', '--plan', planPath], { env: feishuEnv(sim) });
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain(`Check the plan, then apply it: cmdb-bulk apaas-sync --apply ${planPath}`);
    const other = await runCli(['apaas-sync', '--apply', planPath, '--object', 'rack'], { env: feishuEnv(sim) });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`is a plan for --namespace ${NS} --object ${OBJ} --key serial_no`);
    const both = await runCli(['apaas-sync', input, '--apply', planPath], { env: feishuEnv(sim) });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('takes the plan only');
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('apaas-sync --prune', () => {
  // The file names every seeded device but DEV-SN-0001, -0002 and -0003, with their seeded status (unchanged rows).
  const GONE = ['DEV-SN-0001', 'DEV-SN-0002', 'DEV-SN-0003'];
  const pruneFile = (name: string) => {
    const keep = [...table().values()].filter((r) => !GONE.includes(String(r.serial_no)));
    return tmp.file(name, csv(['serial_no,status', ...keep.map((r) => `${String(r.serial_no)},${String(r.status)}`)]));
  };

  it('without --yes (input not a terminal) deletes nothing and says how many --yes would delete', async () => {
    const r = await runCli(['apaas-sync', pruneFile('prune-no.csv'), ...TARGET, '--prune', '--json', '--report', join(tmp.dir, 'prune-no.report.csv')], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ unchanged: 47, ok: 0 });
    expect(s.plan).toMatchObject({ create: 0, update: 0, delete: 3 });
    expect(s.pruned).toMatchObject({ candidates: 3, deleted: 0 });
    expect(s.pruned.refused).toContain('deleting 3 device records needs --yes');
    expect(sim.counters().writeRequests).toBe(0);
    for (const serial of GONE) expect(bySerial(serial)).toHaveLength(1);
  });

  it('with --plan-only counts what would go and deletes nothing', async () => {
    const r = await runCli(['apaas-sync', pruneFile('prune-plan.csv'), ...TARGET, '--prune', '--yes', '--plan-only', '--plan', join(tmp.dir, 'prune.plan.ndjson')], { env: feishuEnv(sim) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('plan: 0 to create, 0 to update (0 fields), 47 unchanged');
    expect(r.stderr).toContain('prune: 3 records not in the file (would be deleted)');
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('with --yes deletes the records the file does not name (batch_delete), their values in the prune report', async () => {
    const before = GONE.map(one).map((x) => ({ ...x }));
    const report = join(tmp.dir, 'prune-yes.report.csv');
    const r = await runCli(['apaas-sync', pruneFile('prune-yes.csv'), ...TARGET, '--prune', '--yes', '--json', '--report', report], { env: feishuEnv(sim) });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.pruned).toEqual({ candidates: 3, deleted: 3, kept: 0, report: `${report}.prune.ndjson` });
    expect(requests('feishu_batch_delete')).toBe(1);
    expect(sim.counters().writeRequests).toBe(1);
    for (const serial of GONE) expect(bySerial(serial)).toHaveLength(0);
    expect(table().size).toBe(47);
    const lines = readLines(`${report}.prune.ndjson`);
    // `before`: _id, the key and the fields the file has (no call lists an object's fields).
    expect(lines).toEqual(before.map((x) => ({ status: 'ok', action: 'delete', id: x._id, before: { _id: x._id, serial_no: x.serial_no, status: x.status } })));
  });

  it('--max-delete caps it: more records than that, nothing deleted', async () => {
    const r = await runCli(['apaas-sync', pruneFile('prune-max.csv'), ...TARGET, '--prune', '--yes', '--max-delete', '2', '--json', '--report', join(tmp.dir, 'prune-max.report.csv')], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).pruned.refused).toContain('3 device records are not in the file, more than --max-delete 2');
    expect(sim.counters().writeRequests).toBe(0);
    expect(existsSync(join(tmp.dir, 'prune-max.report.csv.prune.ndjson'))).toBe(false);
  });

  it('a row without a key stops the prune: the file may name records it cannot see', async () => {
    const input = tmp.file('prune-nokey.csv', readFileSync(pruneFile('prune-nokey-base.csv'), 'utf8') + ',online\n');
    const r = await runCli(['apaas-sync', input, ...TARGET, '--prune', '--yes', '--skip-invalid', '--json', '--report', join(tmp.dir, 'prune-nokey.report.csv')], { env: feishuEnv(sim) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).pruned.refused).toContain('1 row(s) of the file have no serial_no');
    expect(sim.counters().writeRequests).toBe(0);
  });
});
