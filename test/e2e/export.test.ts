/**
 * export and apaas-export end to end: the built CLI against the simulator over loopback, both CMDB front doors.
 * The file must equal the store, load back unchanged, carry edits exactly, and survive writes during the export.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Row, Simulator } from '../../src/sim/index.js';
import { SUMMARY_SCHEMA, validate } from '../support/summary-schema.js';
import { cmdbEnv, feishuEnv, runCli, tempDir, withSim } from './helpers.js';

let sim: Simulator;
const tmp = tempDir();
/** Set by a test to act on every search_object_instances page the simulator answers. */
let onPage: (() => void) | undefined;
beforeAll(async () => {
  sim = await withSim({ log: (line) => (line.includes(' search_object_instances ') ? onPage?.() : undefined) });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});
afterEach(() => {
  onPage = undefined;
  sim.reset();
});

const switches = () => sim.store.instances('bk_switch');
/** A store row as an exported one: the server-only bk_obj_id left out. */
const asExported = ({ bk_obj_id: _, ...rest }: Row) => rest;
const readCsv = (path: string) => parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
const readNdjson = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);

/** Switches whose values exercise every kind of cell: lists, nulls, quotes, commas, line breaks, Chinese. */
function seedAwkwardSwitches() {
  sim.store.insert('bk_switch', { bk_inst_name: '核心交换机 "A"', bk_asset_id: 'SW-AWK-1', bk_sn: 'SN, with comma', bk_operator: 'alice,bob', port_count: 1024, is_managed: false, vendor: 'cisco', bought_on: '2024-02-29', remark: 'line one\nline two', tags: ['core', 'lab'] });
  sim.store.insert('bk_switch', { bk_inst_name: '=cmd', bk_asset_id: 'SW-AWK-2', bk_sn: null, port_count: 1, is_managed: true, vendor: 'h3c', remark: '', tags: [] });
}

describe.each(['esb', 'apigw'] as const)('export via %s', (gateway) => {
  const env = () => cmdbEnv(sim, gateway);

  it('writes every instance with the store\'s values, paged by id (NDJSON)', async () => {
    seedAwkwardSwitches();
    const out = join(tmp.dir, `eq-${gateway}.ndjson`);
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--page-size', '7', '--json'], { env: env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'export', total: 22, ok: 22, failed: 0, invalid: 0, unsent: 0, report: null, exit_code: 0, out, format: 'ndjson' });
    expect(validate(SUMMARY_SCHEMA, JSON.parse(r.stdout))).toEqual([]);
    const store = switches();
    expect(readNdjson(out)).toEqual(store.map(asExported));
    // 22 rows at 7 a page: 4 pages, each asking for ids above the last one, sorted by id.
    expect(sim.counters().requests.search_object_instances).toBe(4);
  });

  it('writes CSV cells the way create-inst / update-inst read them', async () => {
    seedAwkwardSwitches();
    const out = join(tmp.dir, `cells-${gateway}.csv`);
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() });
    expect(r.code).toBe(0);
    const rows = readCsv(out);
    expect(rows).toHaveLength(22);
    expect(Object.keys(rows[0]!)).toEqual(['bk_inst_id', 'bk_inst_name', 'bk_asset_id', 'bk_sn', 'bk_operator', 'port_count', 'is_managed', 'vendor', 'bought_on', 'remark', 'tags']);
    const awk = rows.find((x) => x.bk_asset_id === 'SW-AWK-1')!;
    expect(awk).toEqual({
      bk_inst_id: String(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-AWK-1')!.bk_inst_id),
      bk_inst_name: '核心交换机 "A"', bk_asset_id: 'SW-AWK-1', bk_sn: 'SN, with comma', bk_operator: 'alice,bob', port_count: '1024',
      is_managed: 'false', vendor: 'cisco', bought_on: '2024-02-29', remark: 'line one\nline two', tags: 'core,lab',
    });
    // Data, not a report: no formula-neutralising prefix; null and [] are empty cells.
    expect(rows.find((x) => x.bk_asset_id === 'SW-AWK-2')).toMatchObject({ bk_inst_name: '=cmd', bk_sn: '', tags: '' });
  });

  it('export → update-inst of the same file changes nothing (CSV and JSON)', async () => {
    seedAwkwardSwitches();
    const before = switches();
    for (const ext of ['csv', 'json']) {
      const out = join(tmp.dir, `same-${gateway}.${ext}`);
      expect((await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() })).code).toBe(0);
      const r = await runCli(['update-inst', out, '--obj', 'bk_switch', '--report', join(tmp.dir, `same-${gateway}-${ext}.report.csv`), '--json'], { env: env() });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ total: 22, ok: 22 });
      expect(switches()).toEqual(before);
    }
  });

  it('export → sync with no edits sends nothing: every row unchanged, no write request (CSV and NDJSON)', async () => {
    seedAwkwardSwitches();
    const before = switches();
    for (const ext of ['csv', 'ndjson']) {
      const out = join(tmp.dir, `nosync-${gateway}.${ext}`);
      expect((await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() })).code).toBe(0);
      const writes = sim.counters().writeRequests;
      const report = join(tmp.dir, `nosync-${gateway}-${ext}.report.csv`);
      const r = await runCli(['sync', out, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report, '--json'], { env: env() });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ total: 22, ok: 0, unchanged: 22, plan: { create: 0, update: 0, unchanged: 22 } });
      expect(sim.counters().writeRequests).toBe(writes);
      expect(sim.counters().requests.batch_update_inst ?? 0).toBe(0);
      expect(sim.counters().requests.batch_create_inst ?? 0).toBe(0);
      const rows = readCsv(report);
      expect(rows).toHaveLength(22);
      expect(new Set(rows.map((x) => `${x.status}/${x.action}`))).toEqual(new Set(['unchanged/unchanged']));
      expect(switches()).toEqual(before);
    }
  });

  it('export → sync checks the exported ids: a row whose key was edited, or whose id is another instance\'s, is a conflict, never sent', async () => {
    const before = switches();
    const out = join(tmp.dir, `ids-${gateway}.csv`);
    expect((await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() })).code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    const edit = (id: number, from: string, to: string) => {
      const i = lines.findIndex((l) => l.startsWith(`${id},`));
      lines[i] = lines[i]!.replace(from, to);
    };
    edit(1003, 'SW-EXIST-0003', 'SW-EDITED-0003'); // the key edited: sync would create a second instance
    edit(1004, '1004,', '1005,'); // the id of another instance
    writeFileSync(out, lines.join('\n'));
    const writes = sim.counters().writeRequests;
    const report = join(tmp.dir, `ids-${gateway}.report.csv`);
    const r = await runCli(['sync', out, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report, '--json'], { env: env() });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ failed: 2, unchanged: 18, plan: { create: 0, update: 0, conflict: 2 } });
    expect(sim.counters().writeRequests).toBe(writes);
    expect(switches()).toEqual(before);
    const rows = readCsv(report);
    expect(rows[2]).toMatchObject({ status: 'failed', error_code: 'conflict', bk_inst_id: '1003' });
    expect(rows[2]!.error).toContain('no bk_switch instance has bk_asset_id "SW-EDITED-0003"');
    expect(rows[3]!.error).toContain('bk_asset_id "SW-EXIST-0004" is instance 1004, but the row\'s bk_inst_id is 1005');
  });

  it('export --out - pipes into update-inst - (NDJSON on stdout, progress and summary on stderr)', async () => {
    seedAwkwardSwitches();
    const before = switches();
    const out = await runCli(['export', '--obj', 'bk_switch', '--out', '-', '--format', 'ndjson'], { env: env() });
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/exported 22 bk_switch instances to stdout/);
    const back = await runCli(['update-inst', '-', '--obj', 'bk_switch', '--format', 'ndjson', '--report', join(tmp.dir, `pipe-${gateway}.report.csv`), '--json'], { env: env(), input: out.stdout });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ total: 22, ok: 22 });
    expect(switches()).toEqual(before);
  });

  it('export → edit three cells → update-inst changes exactly those', async () => {
    seedAwkwardSwitches();
    const before = switches();
    const out = join(tmp.dir, `edit-${gateway}.csv`);
    expect((await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() })).code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    // Rows 1001, 1003 and 1010 are plain (no quoted cells): edit one cell each.
    const edit = (id: number, from: string, to: string) => {
      const i = lines.findIndex((l) => l.startsWith(`${id},`));
      expect(lines[i]).toContain(from);
      lines[i] = lines[i]!.replace(from, to);
    };
    edit(1001, ',48,', ',96,');
    edit(1003, ',cisco,', ',华为,');
    edit(1010, 'SN-SW-0010', 'SN-NEW-0010');
    writeFileSync(out, lines.join('\n'));
    const r = await runCli(['update-inst', out, '--obj', 'bk_switch', '--report', join(tmp.dir, `edit-${gateway}.report.csv`)], { env: env() });
    expect(r.code).toBe(0);
    const after = new Map(switches().map((s) => [s.bk_inst_id, s]));
    const changed: string[] = [];
    for (const b of before) {
      const a = after.get(b.bk_inst_id)!;
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changed.push(`${String(b.bk_inst_id)}.${k}=${JSON.stringify(a[k])}`);
    }
    expect(changed.sort()).toEqual(['1001.port_count=96', '1003.vendor="huawei"', '1010.bk_sn="SN-NEW-0010"']);
  });

  it('neither skips nor repeats rows while instances are created and deleted between pages', async () => {
    const atStart = new Set(switches().map((s) => s.bk_inst_id as number));
    const deleted = new Set<number>();
    let created = 0;
    onPage = () => {
      // Three new switches after every page, and the lowest-id switch of those present goes away.
      for (let i = 0; i < 3; i++) sim.store.insert('bk_switch', { bk_inst_name: `during-${created}`, bk_asset_id: `SW-DURING-${created++}`, port_count: 8 });
      const gone = Math.min(...switches().map((s) => s.bk_inst_id as number));
      sim.store.instanceMap('bk_switch').delete(gone);
      deleted.add(gone);
    };
    const out = join(tmp.dir, `during-${gateway}.ndjson`);
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--page-size', '5'], { env: env() });
    expect(r.code).toBe(0);
    const ids = readNdjson(out).map((x) => x.bk_inst_id as number);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of atStart) if (!deleted.has(id)) expect(ids).toContain(id);
    expect(created).toBeGreaterThan(0);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('writes every host through the host API (bk_host_id in the bk_inst_id column)', async () => {
    const out = join(tmp.dir, `hosts-${gateway}.ndjson`);
    const fields = sim.store.models.get('host')!.attributes.map((a) => a.bk_property_id);
    const r = await runCli(['export', '--obj', 'host', '--out', out, '--fields', fields.join(',')], { env: env() });
    expect(r.code).toBe(0);
    expect(readNdjson(out)).toEqual(sim.store.hosts().map(({ bk_host_id, bk_obj_id: _, ...rest }) => ({ bk_inst_id: bk_host_id, ...rest })));
    expect(sim.counters().requests.list_hosts_without_biz).toBe(1);
    expect(sim.counters().requests.search_object_instances).toBeUndefined();
    // --where on hosts: the bk_inst_id column is the host id.
    const some = join(tmp.dir, `some-hosts-${gateway}.ndjson`);
    const w = await runCli(['export', '--obj', 'host', '--out', some, '--fields', 'bk_host_name', '--where', 'bk_host_name=host-007', '--where', 'bk_inst_id=9', '--where', 'bk_inst_id=7'], { env: env() });
    expect(w.code).toBe(0);
    expect(readNdjson(some)).toEqual([{ bk_inst_id: 7, bk_host_name: 'host-007' }]);
  });
});

describe('export: choosing rows and columns', () => {
  const env = () => cmdbEnv(sim, 'apigw');

  it('--where values are read like CSV cells of the field (enum by name, int, bool); repeated fields match either', async () => {
    const out = join(tmp.dir, 'where.ndjson');
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--where', 'vendor=华为', '--where', 'vendor=Cisco', '--where', 'port_count=48', '--where', 'is_managed=yes', '--fields', 'vendor'], { env: env() });
    expect(r.code).toBe(0);
    const want = switches().filter((s) => s.vendor === 'huawei' || s.vendor === 'cisco');
    expect(want.length).toBeGreaterThan(0);
    expect(readNdjson(out)).toEqual(want.map((s) => ({ bk_inst_id: s.bk_inst_id, vendor: s.vendor })));
  });

  it('refuses unknown fields and bad values before reading anything (exit 2, no file)', async () => {
    const out = join(tmp.dir, 'bad.csv');
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--fields', 'bk_asset,bk_sn', '--where', 'port_count=many', '--where', 'colour=red'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"bk_asset" is not a field of this model (did you mean "bk_asset_id"?)');
    const asJson = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--fields', 'bk_asset', '--json'], { env: env() });
    expect(asJson.code).toBe(2);
    const failed = JSON.parse(asJson.stdout);
    expect(failed).toMatchObject({ command: 'export', total: 0, ok: 0, exit_code: 2 });
    expect(failed.error).toMatch(/did you mean "bk_asset_id"/);
    expect(validate(SUMMARY_SCHEMA, failed)).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect(sim.counters().requests.search_object_instances).toBeUndefined();
    const w = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--where', 'port_count=many', '--where', 'colour=red'], { env: env() });
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/port_count=many: expected a whole number/);
    expect(w.stderr).toMatch(/colour=red: "colour" is not a field/);
  });

  it('needs exactly one of --obj and --assoc, and a page size the API takes (exit 2, no request)', async () => {
    const [none, both, big] = await Promise.all([
      runCli(['export'], { env: env() }),
      runCli(['export', '--obj', 'bk_switch', '--assoc', 'bk_switch_connect_host'], { env: env() }),
      runCli(['export', '--obj', 'bk_switch', '--page-size', '501'], { env: env() }),
    ]);
    expect([none.code, both.code, big.code]).toEqual([2, 2, 2]);
    expect(none.stderr).toMatch(/say what to export: --obj <bk_obj_id> or --assoc <bk_obj_asst_id>/);
    expect(both.stderr).toMatch(/cannot be used with/);
    expect(big.stderr).toMatch(/501 is over the 500 rows one search request may ask for/);
    expect(sim.counters().requests).toEqual({});
  });

  it('leaves out fields update-inst would refuse (not editable), and says so; --fields brings them back', async () => {
    const out = join(tmp.dir, 'fw.csv');
    const r = await runCli(['export', '--obj', 'bk_firewall', '--out', out], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/left out online_at: not editable/);
    expect(Object.keys(readCsv(out)[0]!)).not.toContain('online_at');
    const all = join(tmp.dir, 'fw-all.csv');
    expect((await runCli(['export', '--obj', 'bk_firewall', '--out', all, '--fields', 'bk_asset_id,online_at'], { env: env() })).code).toBe(0);
    expect(readCsv(all)[0]).toMatchObject({ online_at: '2023-03-01 10:00:00' });
  });

  it('never overwrites a file unless asked; refuses built-in models and workbooks on stdout with a way forward', async () => {
    const out = tmp.file('exists.csv', 'keep me\n');
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists.*--overwrite/s);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    expect(sim.counters().requests).toEqual({});
    expect((await runCli(['export', '--obj', 'bk_switch', '--out', out, '--overwrite'], { env: env() })).code).toBe(0);
    expect(readCsv(out)).toHaveLength(20);
    const biz = await runCli(['export', '--obj', 'biz', '--out', join(tmp.dir, 'biz.csv')], { env: env() });
    expect(biz.code).toBe(2);
    expect(biz.stderr).toMatch(/built-in model.*1199084/);
    const x = await runCli(['export', '--obj', 'bk_switch', '--out', '-', '--format', 'xlsx'], { env: env() });
    expect(x.code).toBe(2);
    expect(x.stderr).toMatch(/cannot go to stdout.*--out bk_switch\.xlsx/s);
    expect(x.stdout).toBe('');
  });

  it('shows progress with the total from count_object_instances (CI lines)', async () => {
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', join(tmp.dir, 'progress.csv'), '--page-size', '7'], { env: { ...env(), CI: 'true', CMDB_BULK_PROGRESS_INTERVAL_MS: '1' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[export\] 7\/20 rows \(35%\)/);
    expect(r.stderr).toMatch(/\[export\] 20\/20 rows \(100%\)/);
    expect(sim.counters().requests.count_object_instances).toBe(1);
  });

  it('Ctrl-C stops the export (exit 130) and leaves no file behind, complete-looking or partial', async () => {
    const out = join(tmp.dir, 'stopped.csv');
    let child: import('node:child_process').ChildProcess | undefined;
    let pages = 0;
    onPage = () => {
      if (++pages === 2) child?.kill('SIGINT');
    };
    sim.setFaults({ latencyMs: 100 });
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out, '--page-size', '1'], { env: env(), onSpawn: (c) => (child = c) });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted after \d+ rows; .*stopped\.csv was not written/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('exits 4 on bad credentials, with no file left behind', async () => {
    const out = join(tmp.dir, 'auth.csv');
    const r = await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: cmdbEnv(sim, 'esb', { BK_APP_SECRET: 'wrong' }) });
    expect(r.code).toBe(4);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});

describe('export: secrets', () => {
  it('never prints a credential, even tracing every request with --verbose', async () => {
    const runs = await Promise.all([
      runCli(['export', '--obj', 'bk_switch', '--out', '-', '--verbose', '--page-size', '10'], { env: cmdbEnv(sim, 'esb') }),
      runCli(['export', '--obj', 'host', '--out', '-', '--verbose'], { env: cmdbEnv(sim, 'apigw') }),
      runCli(['apaas-export', '--namespace', 'package_demo__c', '--object', 'device', '--fields', 'name', '--out', '-', '--verbose'], { env: feishuEnv(sim) }),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/→ POST/);
      for (const secret of [sim.credentials.bkAppSecret, sim.credentials.feishuAppSecret]) expect(r.stdout + r.stderr).not.toContain(secret);
    }
  });
});

describe('export --assoc', () => {
  it('writes the associations of a kind in the columns associate reads; associate loads them back', async () => {
    const env = cmdbEnv(sim, 'esb');
    sim.store.associate('bk_switch_connect_host', 1005, 9);
    const pairs = () => sim.store.associations('bk_switch_connect_host').map((a) => [a.bk_inst_id, a.bk_asst_inst_id]);
    const before = pairs();
    const out = join(tmp.dir, 'links.csv');
    const r = await runCli(['export', '--assoc', 'bk_switch_connect_host', '--out', out, '--page-size', '2'], { env });
    expect(r.code).toBe(0);
    expect(readCsv(out)).toEqual(before.map(([i, a]) => ({ bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'bk_switch', bk_inst_id: String(i), bk_asst_obj_id: 'host', bk_asst_inst_id: String(a) })));
    for (const [id, a] of sim.store.associationMap()) if (a.bk_obj_asst_id === 'bk_switch_connect_host') sim.store.associationMap().delete(id);
    const back = await runCli(['associate', out, '--asst-id', 'bk_switch_connect_host', '--report', join(tmp.dir, 'links.report.csv')], { env });
    expect(back.code).toBe(0);
    expect(pairs()).toEqual(before);
  });
});

describe('apaas-export', () => {
  it('writes every record, paged by page token (use_page_token), with the fields asked for', async () => {
    const out = join(tmp.dir, 'devices.ndjson');
    const r = await runCli(['apaas-export', '--namespace', 'package_demo__c', '--object', 'device', '--fields', 'name,serial_no,cpu_cores', '--page-size', '7', '--out', out, '--json'], { env: feishuEnv(sim) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'apaas-export', total: 50, ok: 50 });
    expect(readNdjson(out)).toEqual(sim.store.records('package_demo__c', 'device').map(({ _id, name, serial_no, cpu_cores }) => ({ _id, name, serial_no, cpu_cores })));
    expect(sim.counters().requests.feishu_batch_query).toBe(8);
  });

  it('needs --fields (batch_query selects only what it is asked for): exit 2 with an example', async () => {
    const r = await runCli(['apaas-export', '--namespace', 'package_demo__c', '--object', 'device', '--out', join(tmp.dir, 'nofields.csv')], { env: feishuEnv(sim) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --fields.*--fields name,status/s);
  });
});
