/** delete-inst end to end: the built CLI against the simulator — look first, confirm, delete, name the blockers. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Simulator } from '../../src/sim/index.js';
import { cmdbEnv, csv, expectRowsOnce, readReport, runCli, tempDir, withSim } from './helpers.js';

let sim: Simulator;
const tmp = tempDir();
/** Called with every request the simulator answers (its log line), to act between two requests of a run. */
let onLog: ((line: string) => void) | undefined;
beforeAll(async () => {
  sim = await withSim({ log: (line) => onLog?.(line) });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});
afterEach(() => {
  onLog = undefined;
  sim.setFaults({});
  sim.reset();
});

const byAsset = (id: string) => sim.store.instances('bk_switch').find((s) => s.bk_asset_id === id);
const switches = () => sim.store.instances('bk_switch').length;
const deletes = () => sim.counters().requests.batch_delete_inst ?? 0;

describe.each(['esb', 'apigw'] as const)('delete-inst via %s', (gateway) => {
  it('deletes the others and names the blocker: an instance with associations is failed, never sent', async () => {
    // SW-EXIST-0001 (1001) connects hosts 1 and 2; SW-EXIST-0020 (1020) is the target of firewall 1021.
    const input = tmp.file(`retire-${gateway}.csv`, csv(['bk_asset_id', 'SW-EXIST-0003', 'SW-EXIST-0001', 'SW-EXIST-0004', 'SW-EXIST-0020', 'SW-EXIST-0005']));
    const report = join(tmp.dir, `retire-${gateway}.report.csv`);
    const before = byAsset('SW-EXIST-0003');
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--yes', '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'delete-inst', total: 5, ok: 3, failed: 2, invalid: 0, unsent: 0 });
    expect(r.stderr).toContain('3 bk_switch instance(s) to delete, 2 kept because they still have associations');
    for (const gone of ['SW-EXIST-0003', 'SW-EXIST-0004', 'SW-EXIST-0005']) expect(byAsset(gone)).toBeUndefined();
    expect(byAsset('SW-EXIST-0001')).toBeDefined();
    expect(byAsset('SW-EXIST-0020')).toBeDefined();
    expect(deletes()).toBe(1); // the blocked rows never went into a batch
    const rows = readReport(report);
    expectRowsOnce(rows, 5);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'failed', 'ok', 'failed', 'ok']);
    expect(rows[1]).toMatchObject({ error_code: '1101075' });
    expect(rows[1]!.error).toContain('bk_switch_connect_host → host 1');
    expect(rows[1]!.error).toContain('bk_switch_connect_host → host 2');
    expect(rows[3]!.error).toContain('bk_firewall_connect_bk_switch ← bk_firewall 1021');
    expect(JSON.parse(String(rows[0]!.before))).toMatchObject({ bk_inst_id: before!.bk_inst_id, bk_asset_id: 'SW-EXIST-0003', bk_inst_name: before!.bk_inst_name, port_count: 48 });
    expect(rows[0]).toMatchObject({ action: 'delete', id: String(before!.bk_inst_id) });
  });

  it('without --yes and no terminal: refuses with exit 2, names --yes, deletes nothing', async () => {
    const input = tmp.file(`noyes-${gateway}.csv`, csv(['bk_inst_id', '1003', '1004']));
    const n = switches();
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs --yes');
    expect(switches()).toBe(n);
    expect(deletes()).toBe(0);
  });

  it('--max-delete refuses a file that would delete more (exit 2, nothing deleted)', async () => {
    const input = tmp.file(`max-${gateway}.csv`, csv(['bk_inst_id', '1003', '1004', '1005']));
    const n = switches();
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch', '--yes', '--max-delete', '2'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('more than --max-delete 2');
    expect(switches()).toBe(n);
    expect(deletes()).toBe(0);
  });

  it('an unknown id or key is an invalid row (the server would ignore it and answer success); nothing sent', async () => {
    const input = tmp.file(`unknown-${gateway}.csv`, csv(['bk_inst_id', '1003', '999999', '1003']));
    const report = join(tmp.dir, `unknown-${gateway}.report.csv`);
    const n = switches();
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch', '--yes', '--report', report], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(2);
    expect(switches()).toBe(n);
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid']);
    expect(rows[1]!.error).toContain('no bk_switch instance has bk_inst_id "999999"');
    expect(rows[2]!.error).toContain('same instance (id 1003) as row 1');
  });

  it('an unclear answer (applied, then 504) is reconciled: the instances are gone, so the rows are ok', async () => {
    const input = tmp.file(`u504-${gateway}.csv`, csv(['bk_inst_id', '1003', '1004', '1005']));
    const report = join(tmp.dir, `u504-${gateway}.report.csv`);
    sim.setFaults({ appliedThen504Rate: 1, ops: ['batch_delete_inst'] });
    onLog = (line) => {
      if (line.includes('applied, then 504')) sim.setFaults({});
    };
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch', '--yes', '--report', report], { env: cmdbEnv(sim, gateway) });
    expect(r.code, r.stderr).toBe(0);
    expect(sim.counters().faultsInjected.appliedThen504).toBe(1);
    for (const id of [1003, 1004, 1005]) expect(sim.store.instance('bk_switch', id)).toBeUndefined();
    expect(readReport(report).map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('an association made after the check: the refused batch is split, that row failed with 1101075, the others deleted', async () => {
    const input = tmp.file(`race-${gateway}.csv`, csv(['bk_inst_id', '1003', '1004', '1005', '1006']));
    const report = join(tmp.dir, `race-${gateway}.report.csv`);
    // Pass 1 and pass 2 each look up the links of bk_switch's three association kinds; after the sixth, a link appears.
    let lookups = 0;
    onLog = (line) => {
      if (line.includes('find_instance_association') && ++lookups === 6) sim.store.associate('bk_switch_connect_host', 1005, 4);
    };
    const r = await runCli(['delete-inst', input, '--obj', 'bk_switch', '--yes', '--report', report], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3);
    expect(lookups).toBe(6);
    for (const id of [1003, 1004, 1006]) expect(sim.store.instance('bk_switch', id)).toBeUndefined();
    expect(sim.store.instance('bk_switch', 1005)).toBeDefined();
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'ok', 'failed', 'ok']);
    expect(rows[2]).toMatchObject({ error_code: '1101075' });
    expect(deletes()).toBeGreaterThan(1);
  });
});
