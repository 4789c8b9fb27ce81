/** revert end to end: the built CLI against the simulator — each run undone from its report, the store as it was. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { cmdbEnv, csv, readReport, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

/**
 * The model's instances as the user sees them: by asset id, without ids and timestamps (a re-create gets new ones)
 * and without null fields (a field with no value: the seed writes remark: null, a create leaves it out).
 */
function world(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of sim.store.instances('bk_switch')) {
    const { bk_inst_id: _id, create_time: _c, last_time: _l, ...rest } = s;
    out[String(s.bk_asset_id)] = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null));
  }
  return out;
}
const byAsset = (id: string) => sim.store.instances('bk_switch').find((s) => s.bk_asset_id === id);
const ndjson = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

describe.each(['esb', 'apigw'] as const)('revert <report> via %s: the report alone says what to undo', (gateway) => {
  const env = () => cmdbEnv(sim, gateway);
  const run = (args: string[]) => runCli(args, { env: env() });

  it('update-inst: the before-values put back; a field changed since is a conflict, untouched; the revert reverted', async () => {
    const start = world();
    const input = tmp.file(`upd-${gateway}.csv`, csv(['bk_asset_id,port_count,vendor', 'SW-EXIST-0002,24,cisco', 'SW-EXIST-0003,12,huawei', 'SW-EXIST-0004,8,h3c']));
    const report = join(tmp.dir, `upd-${gateway}.report.csv`);
    expect((await run(['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report])).code).toBe(0);
    const rows = readReport(report);
    expect(rows.map((r) => r.action)).toEqual(['update', 'update', 'update']);
    expect(JSON.parse(String(rows[0]!.before))).toEqual({ port_count: 48, vendor: 'h3c' });
    const updated = world();
    // Someone else changes SW-EXIST-0004 after the run: its revert must not overwrite that.
    sim.store.instanceMap('bk_switch').get(byAsset('SW-EXIST-0004')!.bk_inst_id as number)!.port_count = 99;

    const back = join(tmp.dir, `upd-${gateway}.revert.ndjson`);
    const r = await run(['revert', report, '--report', back, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'revert', total: 3, ok: 2, failed: 1 });
    const after = world();
    expect(after['SW-EXIST-0002']).toEqual(start['SW-EXIST-0002']);
    expect(after['SW-EXIST-0003']).toEqual(start['SW-EXIST-0003']);
    expect(after['SW-EXIST-0004']).toMatchObject({ port_count: 99, vendor: 'h3c' });
    const out = ndjson(back);
    expect(out[2]).toMatchObject({ status: 'failed', error_code: 'conflict' });
    expect(out[2]!.error).toContain('port_count is 99 on the server, the run wrote "8"');
    expect(out[0]).toMatchObject({ status: 'ok', action: 'update', before: { port_count: 24, vendor: 'cisco' } });

    // Reverting the revert: the run's values again, where the revert wrote.
    const again = join(tmp.dir, `upd-${gateway}.revert2.ndjson`);
    const r2 = await run(['revert', back, '--report', again, '--json']);
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ ok: 2, unchanged: 1 });
    expect(world()['SW-EXIST-0002']).toEqual(updated['SW-EXIST-0002']);
    expect(world()['SW-EXIST-0003']).toEqual(updated['SW-EXIST-0003']);
  });

  it('create-inst: the created instances deleted (needs --yes without a terminal); the revert reverted creates them again', async () => {
    const start = world();
    const input = tmp.file(`new-${gateway}.csv`, csv(['bk_inst_name,bk_asset_id,port_count', 'rv-1,SW-RV-1,8', 'rv-2,SW-RV-2,16']));
    const report = join(tmp.dir, `new-${gateway}.report.csv`);
    expect((await run(['create-inst', input, '--obj', 'bk_switch', '--report', report])).code).toBe(0);
    const created = world();

    const refused = await run(['revert', report]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('needs --yes');
    expect(world()).toEqual(created);

    const back = join(tmp.dir, `new-${gateway}.revert.ndjson`);
    const r = await run(['revert', report, '--yes', '--report', back]);
    expect(r.code).toBe(0);
    expect(world()).toEqual(start);

    const r2 = await run(['revert', back, '--report', join(tmp.dir, `new-${gateway}.revert2.ndjson`)]);
    expect(r2.code).toBe(0);
    expect(world()).toEqual(created);
  });

  it('delete-inst: the instances created again from their before-values, new ids in the report', async () => {
    const start = world();
    const input = tmp.file(`del-${gateway}.csv`, csv(['bk_asset_id', 'SW-EXIST-0005', 'SW-EXIST-0006']));
    const report = join(tmp.dir, `del-${gateway}.report.json`); // a JSON report, read back as such
    const oldId = byAsset('SW-EXIST-0005')!.bk_inst_id;
    expect((await run(['delete-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--yes', '--report', report])).code).toBe(0);
    expect(byAsset('SW-EXIST-0005')).toBeUndefined();

    const back = join(tmp.dir, `del-${gateway}.revert.ndjson`);
    const r = await run(['revert', report, '--report', back]);
    expect(r.code).toBe(0);
    expect(world()).toEqual(start);
    const newId = byAsset('SW-EXIST-0005')!.bk_inst_id;
    expect(newId).not.toBe(oldId);
    const out = ndjson(back);
    expect(out[0]).toMatchObject({ status: 'ok', action: 'create', id: newId, detail: `created again as id ${newId} (was ${oldId})` });
  });

  it('sync: updates put back and creates deleted', async () => {
    const start = world();
    const input = tmp.file(`sync-${gateway}.csv`, csv(['bk_inst_name,bk_asset_id,port_count', 'switch-exist-07,SW-EXIST-0007,24', 'switch-exist-08,SW-EXIST-0008,48', 'new-sync,SW-RV-S,4']));
    const report = join(tmp.dir, `sync-${gateway}.report.csv`);
    expect((await run(['sync', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report])).code).toBe(0);
    expect(world()).not.toEqual(start);
    const r = await run(['revert', report, '--yes', '--report', join(tmp.dir, `sync-${gateway}.revert.ndjson`), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: 2, unchanged: 1 });
    expect(world()).toEqual(start);
  });

  it('--dry-run shows the plan and changes nothing', async () => {
    const input = tmp.file(`dry-${gateway}.csv`, csv(['bk_asset_id,port_count', 'SW-EXIST-0009,24']));
    const report = join(tmp.dir, `dry-${gateway}.report.csv`);
    expect((await run(['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report])).code).toBe(0);
    const updated = world();
    const r = await run(['revert', report, '--dry-run', '--report', join(tmp.dir, `dry-${gateway}.revert.ndjson`)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 to put back, 0 to delete, 0 to create again, 0 conflict(s)');
    expect(world()).toEqual(updated);
  });
});

describe('revert <report>: the model is the report\'s, --obj only for an older report', () => {
  const env = () => cmdbEnv(sim, 'esb');
  const run = (args: string[]) => runCli(args, { env: env() });
  const writes = () => sim.counters().writeRequests;

  /** A report as an older cmdb-bulk wrote it: no target column. */
  function withoutTarget(report: string, older: string): string {
    const [head, ...rows] = parse(readFileSync(report, 'utf8'), { skip_empty_lines: true }) as string[][];
    const at = head!.indexOf('target');
    expect(at).toBeGreaterThan(0);
    const drop = (cells: string[]) => cells.filter((_, i) => i !== at).map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
    return tmp.file(older, [head!, ...rows].map(drop).join('\n') + '\n');
  }

  it('every row of the run\'s report names the model; --obj that disagrees is refused (exit 2), nothing sent', async () => {
    const input = tmp.file('obj-mismatch.csv', csv(['bk_asset_id,port_count', 'SW-EXIST-0012,24']));
    const report = join(tmp.dir, 'obj-mismatch.report.csv');
    expect((await run(['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report])).code).toBe(0);
    expect(readReport(report).map((r) => r.target)).toEqual(['bk_switch']);
    const updated = world();
    const before = writes();
    const r = await run(['revert', report, '--obj', 'bk_firewall']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--obj bk_firewall does not match');
    expect(r.stderr).toContain('its run wrote to bk_switch');
    expect(writes()).toBe(before);
    expect(world()).toEqual(updated);
    // The same model, said twice, is fine.
    expect((await run(['revert', report, '--obj', 'bk_switch', '--report', join(tmp.dir, 'obj-mismatch.revert.ndjson')])).code).toBe(0);
    expect(byAsset('SW-EXIST-0012')!.port_count).toBe(48);
  });

  it('a report without the target column: refused naming --obj (exit 2, nothing sent); with --obj it is reverted', async () => {
    const start = world();
    const input = tmp.file('older.csv', csv(['bk_asset_id,port_count', 'SW-EXIST-0013,24', 'SW-EXIST-0014,12']));
    const report = join(tmp.dir, 'older.report.csv');
    expect((await run(['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report])).code).toBe(0);
    const older = withoutTarget(report, 'older.old-report.csv');
    const updated = world();
    const before = writes();
    const r = await run(['revert', older]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not say which model its run wrote to');
    expect(r.stderr).toContain(`cmdb-bulk revert ${older} --obj <bk_obj_id>`);
    expect(writes()).toBe(before);
    expect(world()).toEqual(updated);
    const back = join(tmp.dir, 'older.revert.ndjson');
    expect((await run(['revert', older, '--obj', 'bk_switch', '--report', back])).code).toBe(0);
    expect(world()).toEqual(start);
    // Its own report names the model: reverting it needs nothing more.
    expect(ndjson(back).map((x) => x.target)).toEqual(['bk_switch', 'bk_switch']);
  });

  it('an older report of a run that applied nothing needs no model: every row unchanged', async () => {
    const input = tmp.file('nothing.csv', csv(['bk_asset_id,port_count', 'SW-NOT-THERE,24']));
    const report = join(tmp.dir, 'nothing.report.csv');
    expect((await run(['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--report', report, '--skip-invalid'])).code).toBe(3);
    const older = withoutTarget(report, 'nothing.old-report.csv');
    const r = await run(['revert', older, '--report', join(tmp.dir, 'nothing.revert.ndjson'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 1, unchanged: 1, requests: 0 });
  });

  it('sync --prune\'s prune file: the deleted instances created again, with nothing but the file', async () => {
    const start = world();
    const gone = ['SW-EXIST-0010', 'SW-EXIST-0011'];
    const names = Object.keys(start).filter((a) => !gone.includes(a));
    const input = tmp.file('prune.csv', csv(['bk_asset_id', ...names]));
    const report = join(tmp.dir, 'prune.report.csv');
    expect((await run(['sync', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--prune', '--yes', '--report', report])).code).toBe(0);
    for (const a of gone) expect(byAsset(a)).toBeUndefined();
    const r = await run(['revert', `${report}.prune.ndjson`, '--report', join(tmp.dir, 'prune.revert.ndjson'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 2, ok: 2 });
    expect(world()).toEqual(start);
  });
});

it('leaves no stray files', () => {
  expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.journal'))).toEqual([]);
});
