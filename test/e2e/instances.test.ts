/** create-inst and update-inst end to end: the built CLI against the simulator over loopback, both front doors. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmdbEnv, csv, expectRowsOnce, FIXTURES, readReport, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

const switches = () => sim.store.instances('bk_switch');
const byAsset = (id: string) => switches().find((s) => s.bk_asset_id === id);

describe.each(['esb', 'apigw'] as const)('create-inst via %s', (gateway) => {
  it('imports a clean CSV with Chinese text, typed by the model', async () => {
    const before = switches().length;
    const report = join(tmp.dir, `clean-${gateway}.csv`);
    const r = await runCli(['create-inst', join(FIXTURES, 'switches.csv'), '--obj', 'bk_switch', '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ command: 'create-inst', total: 25, ok: 25, failed: 0, invalid: 0, unsent: 0, report });
    expect(switches().length).toBe(before + 25);
    const rows = readReport(report);
    expectRowsOnce(rows, 25);
    for (const row of rows) {
      expect(row.status).toBe('ok');
      expect(byAsset(String(row.bk_asset_id))?.bk_inst_id).toBe(Number(row.id));
    }
    const first = byAsset(String(rows[0]!.bk_asset_id))!;
    expect(typeof first.port_count === 'number' || first.port_count === undefined).toBe(true);
    expect(Object.values(switches()).some((s) => typeof s.bk_inst_name === 'string' && /[\u4e00-\u9fff]/.test(s.bk_inst_name))).toBe(true);
    expect(sim.counters().requests.batch_create_inst).toBe(1);
  });

  it('reports duplicates within the file and against existing data as failed rows, the rest ok', async () => {
    const input = tmp.file(`dups-${gateway}.csv`, csv([
      'bk_inst_name,bk_asset_id,port_count:int',
      'a,DUP-NEW-1,24',
      'b,DUP-NEW-1,24',
      'c,SW-EXIST-0001,48',
      'd,DUP-NEW-2,48',
    ]));
    const report = join(tmp.dir, `dups-${gateway}.report.json`);
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expectRowsOnce(rows, 4);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'failed', 'failed', 'ok']);
    expect(rows[1]!.error).toMatch(/DUP-NEW-1|duplicat|unique/i);
    expect(rows[2]!.error).toMatch(/SW-EXIST-0001|duplicat|unique/i);
    expect(switches().filter((s) => s.bk_asset_id === 'DUP-NEW-1')).toHaveLength(1);
    expect(byAsset('DUP-NEW-2')).toBeDefined();
    expect(r.stderr).toMatch(/2 rows|failed/);
  });
});

describe('create-inst: checked before anything is sent', () => {
  it('a wrong type in JSON input stops the run with exit 2 and no write', async () => {
    const input = tmp.file('wrong.json', JSON.stringify([
      { bk_inst_name: 'a', bk_asset_id: 'J-1', port_count: 24 },
      { bk_inst_name: 'b', bk_asset_id: 'J-2', port_count: '24' },
      { bk_inst_name: 'c', bk_asset_id: 'J-3', is_managed: 'true' },
    ]));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 'wrong.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 2: port_count: expected a whole number/);
    expect(r.stderr).toMatch(/row 3: is_managed: expected true or false/);
    expect(sim.counters().writeRequests).toBe(0);
    const rows = readReport(join(tmp.dir, 'wrong.report.csv'));
    expect(rows.map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid']);
  });

  it('with --skip-invalid the valid rows are sent and the invalid reported', async () => {
    const input = tmp.file('skip.ndjson', ['{"bk_inst_name":"a","bk_asset_id":"N-1"}', '', '{"bk_inst_name":"b","bk_asset_id":"N-2","port_count":"x"}', 'not json'].join('\n'));
    const report = join(tmp.dir, 'skip.report.ndjson');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--report', report], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expectRowsOnce(rows, 3);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'invalid', 'invalid']);
    expect(rows[2]!.error).toMatch(/line 4/);
    expect(byAsset('N-1')).toBeDefined();
    expect(byAsset('N-2')).toBeUndefined();
  });

  it('an invalid CSV (ragged row, bad int, missing required) exits 2 with every problem and zero writes', async () => {
    const input = tmp.file('bad.csv', csv(['bk_inst_name,bk_asset_id,port_count', 'a,B-1,24', 'b,B-2', ',B-3,99999', 'd,,5']));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch'], { env: cmdbEnv(sim, 'esb'), cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/3 of 4 rows are invalid/);
    expect(r.stderr).toMatch(/row 2: .*line 3/);
    expect(r.stderr).toMatch(/row 3: .*port_count: expected at most 1024/);
    expect(r.stderr).toMatch(/row 3: .*bk_inst_name is required/);
    expect(r.stderr).toMatch(/row 4: .*bk_asset_id is required/);
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('an unknown column is refused with a suggestion before any write', async () => {
    const input = tmp.file('typo.csv', csv(['bk_inst_name,bk_asset_id,port_cuont', 'a,T-1,24']));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch'], { env: cmdbEnv(sim, 'apigw'), cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown field "port_cuont".*did you mean "port_count"/);
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('a --batch-size over the limit is a usage error', async () => {
    const r = await runCli(['create-inst', join(FIXTURES, 'switches.csv'), '--obj', 'bk_switch', '--batch-size', '201'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/over the limit of batch_create_inst \(200/);
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('reads GB18030 with --encoding, and without it says to use it', async () => {
    const gb = join(FIXTURES, 'switches.gb18030.csv');
    const bad = await runCli(['create-inst', gb, '--obj', 'bk_switch'], { env: cmdbEnv(sim, 'esb'), cwd: tmp.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--encoding gb18030/);
    const report = join(tmp.dir, 'gb.report.csv');
    const ok = await runCli(['create-inst', gb, '--obj', 'bk_switch', '--encoding', 'gb18030', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(ok.code).toBe(0);
    const utf8Names = readReport(report).map((r) => r.bk_inst_name);
    expect(utf8Names.some((n) => /[\u4e00-\u9fff]/.test(String(n)))).toBe(true);
    expect(byAsset(String(readReport(report)[0]!.bk_asset_id))?.bk_inst_name).toBe(utf8Names[0]);
  });

  it('reads standard input', async () => {
    const report = join(tmp.dir, 'stdin.report.csv');
    const body = readFileSync(join(FIXTURES, 'switches.ndjson'));
    const r = await runCli(['create-inst', '-', '--obj', 'bk_switch', '--format', 'ndjson', '--report', report, '--json'], { env: cmdbEnv(sim, 'apigw'), input: body });
    expect(r.code).toBe(0);
    const n = body.toString().split('\n').filter((l) => l.trim()).length;
    expect(JSON.parse(r.stdout)).toMatchObject({ total: n, ok: n });
  });

  it('--dry-run sends no write and prints the plan', async () => {
    const r = await runCli(['create-inst', join(FIXTURES, 'switches.csv'), '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'dry.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/dry run/);
    expect(r.stderr).toMatch(/batches: 1 of up to 200/);
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('wrong credentials: exit 4, every row unsent, the secret never printed', async () => {
    const report = join(tmp.dir, 'auth.report.csv');
    for (const gateway of ['esb', 'apigw'] as const) {
      const r = await runCli(['create-inst', join(FIXTURES, 'switches.csv'), '--obj', 'bk_switch', '--report', report, '--no-schema'], {
        env: cmdbEnv(sim, gateway, { BK_APP_SECRET: 'wrong-secret-s3cr3t' }),
      });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/BK_APP_SECRET|BK_APP_CODE/);
      expect(r.stderr + r.stdout).not.toMatch(/wrong-secret-s3cr3t/);
      const rows = readReport(report);
      expect(rows.every((x) => x.status === 'unsent')).toBe(true);
      expect(readFileSync(report, 'utf8')).not.toMatch(/wrong-secret-s3cr3t/);
    }
    expect(sim.store.instances('bk_switch').length).toBe(20);
  });
});

describe.each(['esb', 'apigw'] as const)('update-inst via %s', (gateway) => {
  it('one missing bk_inst_id among 150 rows: 149 updated, one failed', async () => {
    // 150 rows: the 20 seeded switches and 130 more created first.
    const create = tmp.file(`seed-${gateway}.csv`, csv(['bk_inst_name,bk_asset_id', ...Array.from({ length: 130 }, (_, i) => `s${i},UPD-${gateway}-${i}`)]));
    expect((await runCli(['create-inst', create, '--obj', 'bk_switch', '--report', join(tmp.dir, `seed-${gateway}.r.csv`)], { env: cmdbEnv(sim, gateway) })).code).toBe(0);
    const ids = switches().map((s) => Number(s.bk_inst_id)).slice(0, 150);
    expect(ids).toHaveLength(150);
    const missing = 999_999;
    const rows = ids.map((id, i) => (i === 77 ? missing : id));
    const input = tmp.file(`upd-${gateway}.csv`, csv(['bk_inst_id,port_count,is_managed', ...rows.map((id) => `${id},36,yes`)]));
    const report = join(tmp.dir, `upd-${gateway}.report.csv`);
    const r = await runCli(['update-inst', input, '--obj', 'bk_switch', '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ total: 150, ok: 149, failed: 1 });
    const out = readReport(report);
    expectRowsOnce(out, 150);
    expect(out.filter((x) => x.status === 'failed').map((x) => x.row)).toEqual([78]);
    expect(out[77]!.error_code).toBe('1199019');
    const updated = switches().filter((s) => s.port_count === 36 && s.is_managed === true);
    expect(updated).toHaveLength(149);
    // 2 batches of 100/50; the bad one is bisected: far fewer requests than one per row.
    expect(sim.counters().requests.batch_update_inst).toBeLessThan(20);
  });
});

describe('update-inst: transient failures are retried to success', () => {
  it('429s and 5xx on updates', async () => {
    const input = tmp.file('retry.csv', csv(['bk_inst_id,bk_sn', ...Array.from({ length: 20 }, (_, i) => `${1001 + i},SN-R-${i}`)]));
    sim.setFaults({ error5xxRate: 0.3, storm429: 3, stormResetSec: 0.05, ops: ['batch_update_inst'] });
    const report = join(tmp.dir, 'retry.report.csv');
    const r = await runCli(['update-inst', input, '--obj', 'bk_switch', '--batch-size', '2', '--retry-delay', '10', '--retries', '8', '--report', report, '--json'], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.ok).toBe(20);
    expect(summary.retries + summary.rate_limited).toBeGreaterThan(0);
    expect(sim.counters().http429).toBeGreaterThanOrEqual(3);
    expect(switches().filter((s) => String(s.bk_sn).startsWith('SN-R-'))).toHaveLength(20);
  });
});
