/**
 * Issue 12, end to end: the built CLI against the simulator that behaves as the real bk-cmdb does (docs/simulator.md,
 * docs/cmdb-compat.md). Each test asserts the simulator's store, the report's rows and the exit code.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import type { Simulator } from '../../src/sim/index.js';
import { cmdbEnv, csv, expectRowsOnce, readReport, runCli, tempDir, withSim, type ReportRow } from './helpers.js';

let sim: Simulator;
const tmp = tempDir();
/** When set, the next log line that matches clears the faults (a fault that strikes once). */
let clearOn: RegExp | undefined;
beforeAll(async () => {
  sim = await withSim({
    log: (line) => {
      if (clearOn?.test(line)) {
        clearOn = undefined;
        sim.setFaults({});
      }
    },
  });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});
afterEach(() => {
  clearOn = undefined;
  sim.reset();
});

type Gateway = 'esb' | 'apigw';
const DOORS = ['esb', 'apigw'] as const;
const writes = () => sim.counters().writeRequests;
const requests = (op: string) => sim.counters().requests[op] ?? 0;

/** Runs the CLI with a report; `--json` unless `human` (then errors and the summary are on stderr). */
async function cli(gateway: Gateway, args: string[], name: string, extraEnv: Record<string, string | undefined> = {}, human = false) {
  const report = join(tmp.dir, `${name}-${gateway}.report.csv`);
  const r = await runCli([...args, '--report', report, ...(human ? [] : ['--json']), '--retry-delay', '1'], { env: cmdbEnv(sim, gateway, extraEnv) });
  return { ...r, summary: r.stdout && !human ? (JSON.parse(r.stdout) as Record<string, unknown>) : {}, rows: (): ReportRow[] => readReport(report) };
}

const switches = (tag: string, n: number) => tmp.file(`${tag}.csv`, csv(['bk_inst_name,bk_asset_id,port_count', ...Array.from({ length: n }, (_, i) => `${tag}-${i},${tag.toUpperCase()}-${i},24`)]));

describe('ESB and gateway answers read right', () => {
  it('ESB 1306000 for a wrong secret: exit 4 naming BK_APP_CODE / BK_APP_SECRET, every row unsent, the secret never printed', async () => {
    const r = await cli('esb', ['create-inst', switches('sec', 3), '--obj', 'bk_switch'], 'esb-secret', { BK_APP_SECRET: 'wrong-but-secret-value' }, true);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/CMDB rejected the credentials \(HTTP 200, code 1306000: APP Secret verification failed.*\); check BK_APP_CODE \/ BK_APP_SECRET/);
    expect(r.stderr + r.stdout).not.toContain('wrong-but-secret-value');
    expect(r.rows().map((x) => x.status)).toEqual(['unsent', 'unsent', 'unsent']);
    expect(writes()).toBe(0);
  });

  it('ESB 1306000 for an unknown app names BK_APP_CODE; a bk_token is a user', async () => {
    const app = await cli('esb', ['create-inst', switches('app', 1), '--obj', 'bk_switch'], 'esb-app', { BK_APP_CODE: 'nobody' }, true);
    expect(app.code).toBe(4);
    expect(app.stderr).toMatch(/Invalid APP Code \[bk_app_code=nobody\].*; check BK_APP_CODE\n/);
    const user = await cli('esb', ['create-inst', switches('usr', 1), '--obj', 'bk_switch'], 'esb-user', { BK_USERNAME: undefined, BK_TOKEN: 'not-checked-here' });
    expect(user.code).toBe(0); // bk_token is a user
  });

  it('gateway 400 / 1640001 for a wrong secret: exit 4 naming the secret setting', async () => {
    const r = await cli('apigw', ['update-inst', tmp.file('gw-sec.csv', csv(['bk_inst_id,port_count', '1001,2'])), '--obj', 'bk_switch'], 'gw-secret', { BK_APP_SECRET: 'wrong-gw-secret' }, true);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/HTTP 400, code 1640001: Parameters error \[reason="bk_app_code or bk_app_secret is incorrect"\]\); check BK_APP_CODE \/ BK_APP_SECRET/);
    expect(r.rows().map((x) => x.status)).toEqual(['unsent']);
    expect(sim.store.instance('bk_switch', 1001)).toMatchObject({ port_count: 48 });
  });

  it.each(DOORS)('config check via %s proves the credentials with a read that must succeed: a bad secret fails it (exit 4)', async (gateway) => {
    const good = await runCli(['config', 'check', '--service', 'cmdb'], { env: cmdbEnv(sim, gateway) });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/✔ read \d+ attributes/);
    const bad = await runCli(['config', 'check', '--service', 'cmdb'], { env: cmdbEnv(sim, gateway, { BK_APP_SECRET: 'bad-check-secret' }) });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/✘ CMDB rejected the credentials/);
    expect(bad.stderr).not.toContain('bad-check-secret');
  });

  it('ESB 1306201 after a create was applied: the rows are looked up (by bk_inst_name) and found, never created twice', async () => {
    sim.setFaults({ appliedThen1306201Rate: 1, ops: ['batch_create_inst'] });
    clearOn = /applied, then 1306201/;
    const r = await cli('esb', ['create-inst', switches('t201', 30), '--obj', 'bk_switch'], 't201-create');
    expect(r.code, r.stderr).toBe(0);
    expect(sim.counters().faultsInjected.appliedThen1306201).toBe(1);
    expect(requests('batch_create_inst')).toBe(1);
    const rows = r.rows();
    expectRowsOnce(rows, 30);
    for (const row of rows) expect(row).toMatchObject({ status: 'ok', detail: expect.stringMatching(/found on the server after an unclear answer .*1306201/) });
    for (let i = 0; i < 30; i++) expect(sim.store.instances('bk_switch').filter((s) => s.bk_asset_id === `T201-${i}`)).toHaveLength(1);
  });

  it('ESB 1306201 after an update was applied: the batch is sent again (an update carries its ids), every row ok', async () => {
    sim.setFaults({ appliedThen1306201Rate: 1, ops: ['batch_update_inst'] });
    clearOn = /applied, then 1306201/;
    const input = tmp.file('t201-upd.csv', csv(['bk_inst_id,port_count', ...Array.from({ length: 20 }, (_, i) => `${1001 + i},${i + 1}`)]));
    const r = await cli('esb', ['update-inst', input, '--obj', 'bk_switch'], 't201-update');
    expect(r.code, r.stderr).toBe(0);
    expect(requests('batch_update_inst')).toBe(2);
    expect(r.summary).toMatchObject({ ok: 20, retries: 1 });
    for (let i = 0; i < 20; i++) expect(sim.store.instance('bk_switch', 1001 + i)).toMatchObject({ port_count: i + 1 });
  });
});

describe('the app not allowed an API: gateway 403 / 1640301, ESB 1306403', () => {
  it.each(DOORS)('via %s: exit 4 naming the app\'s API permission, not the secret; nothing written', async (gateway) => {
    const denied = await withSim({ appDeniedOps: ['batch_create_inst'] });
    try {
      const report = join(tmp.dir, `denied-${gateway}.csv`);
      const r = await runCli(['create-inst', switches('den', 2), '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(denied, gateway) });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`the ${gateway === 'apigw' ? 'API gateway' : 'ESB'} does not let app "${denied.credentials.bkAppCode}" call batch_create_inst \\(HTTP ${gateway === 'apigw' ? '403, code 1640301' : '200, code 1306403'}`));
      expect(r.stderr).toMatch(/grant app ".*" permission to the bk-cmdb API/);
      expect(r.stderr).not.toMatch(/BK_APP_SECRET/);
      expect(readReport(report).map((x) => x.status)).toEqual(['unsent', 'unsent']);
      expect(denied.store.instances('bk_switch')).toHaveLength(20);
    } finally {
      await denied.close();
    }
  });
});

describe('IAM: one bad host id refuses a whole association batch (1199045)', () => {
  it.each(DOORS)('via %s: the row naming the host fails alone, the other 199 land in one more request', async (gateway) => {
    const lines = Array.from({ length: 200 }, (_, i) => `${1001 + (i % 20)},${10 + Math.floor(i / 20) + 20 * (i % 2)}`);
    lines[136] = '1005,9999'; // row 137: no such host
    const input = tmp.file(`iam-${gateway}.csv`, csv(['bk_inst_id,bk_asst_inst_id', ...lines]));
    const before = sim.store.associations('bk_switch_connect_host').length;
    const r = await cli(gateway, ['associate', input, '--asst-id', 'bk_switch_connect_host'], 'iam');
    expect(r.code).toBe(3);
    expect(r.summary).toMatchObject({ total: 200, ok: 199, failed: 1 });
    expect(requests('batch_create_instance_association')).toBe(2);
    const rows = r.rows();
    expectRowsOnce(rows, 200);
    expect(rows[136]).toMatchObject({ status: 'failed', error_code: '1199045', error: expect.stringMatching(/^host 9999 is unknown or not placed in a business .*host 9999 has no relations/) });
    expect(sim.store.associations('bk_switch_connect_host').length - before).toBeGreaterThanOrEqual(190);
    expect(sim.store.associations('bk_switch_connect_host').some((a) => a.bk_asst_inst_id === 9999)).toBe(false);
  });
});

describe('hosts and other built-in models are looked up with the APIs the server allows', () => {
  it.each(DOORS)('update-inst --obj host --key bk_host_innerip via %s: resolved through list_hosts_without_biz, updated', async (gateway) => {
    const input = tmp.file(`hosts-${gateway}.csv`, csv(['bk_host_innerip,bk_host_name', '10.0.0.7,web-7', ' 10.0.0.8 ,web-8']));
    const r = await cli(gateway, ['update-inst', input, '--obj', 'host', '--key', 'bk_host_innerip'], 'hosts');
    expect(r.code, r.stderr).toBe(0);
    // One look-up resolves the keys; one reads the batch's before-values (bk_host_name) just before the update.
    expect(requests('list_hosts_without_biz')).toBe(2);
    expect(requests('search_object_instances')).toBe(0);
    expect(sim.store.instance('host', 7)).toMatchObject({ bk_host_name: 'web-7' });
    expect(JSON.parse(String(r.rows()[0]!.before))).toHaveProperty('bk_host_name');
    expect(sim.store.instance('host', 8)).toMatchObject({ bk_host_name: 'web-8' });
    expect(r.rows()[1]).toMatchObject({ id: '8', detail: 'bk_host_innerip 10.0.0.8 → 8' });
  });

  it('a host key that resolves to nothing is an invalid row with a message; no id is ever sent for it', async () => {
    const input = tmp.file('hosts-none.csv', csv(['bk_host_innerip,bk_host_name', '10.0.0.9,ok-9', '10.9.9.9,nope']));
    const r = await cli('apigw', ['update-inst', input, '--obj', 'host', '--key', 'bk_host_innerip'], 'hosts-none');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.stderr).toMatch(/row 2: bk_host_innerip: no host instance has bk_host_innerip "10.9.9.9"/);
    const skip = await cli('apigw', ['update-inst', input, '--obj', 'host', '--key', 'bk_host_innerip', '--skip-invalid'], 'hosts-none-skip');
    expect(skip.summary).toMatchObject({ ok: 1, invalid: 1 });
    expect(sim.store.instance('host', 9)).toMatchObject({ bk_host_name: 'ok-9' });
  });
});

describe('checks as the server checks', () => {
  it.each(DOORS)('via %s: UTF-8 byte lengths, objuser, enumquote, time and one value where ismultiple is false — before sending', async (gateway) => {
    const input = tmp.file(`checks-${gateway}.csv`, csv([
      'bk_inst_name,bk_asset_id,bk_sn,owner,peer,online_at',
      `fw-ok,FWC-1,${'交'.repeat(85)},alice,1001,2024-05-01T08:00:00`,
      `fw-long,FWC-2,${'交'.repeat(86)},,,`,
      'fw-users,FWC-3,,"alice,bob",,',
      'fw-name,FWC-4,,张三,,',
      'fw-peers,FWC-5,,,"1001,1002",',
      'fw-time,FWC-6,,,,2024-05-01 08:00',
    ]));
    const r = await cli(gateway, ['create-inst', input, '--obj', 'bk_firewall'], 'checks');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.stderr).toMatch(/row 2: bk_sn: expected at most 256 bytes of UTF-8/);
    expect(r.stderr).toMatch(/row 3: owner: expected one user: the field takes a single value \(ismultiple is false\)/);
    expect(r.stderr).toMatch(/row 4: owner: expected user names of letters, digits/);
    expect(r.stderr).toMatch(/row 5: peer: expected one instance id/);
    expect(r.stderr).toMatch(/row 6: online_at: expected a time/);
    const skip = await cli(gateway, ['create-inst', input, '--obj', 'bk_firewall', '--skip-invalid'], 'checks-skip');
    expect(skip.summary).toMatchObject({ ok: 1, invalid: 5 });
    expect(sim.store.findBy('bk_firewall', 'bk_asset_id', 'FWC-1')).toMatchObject({ bk_sn: '交'.repeat(85), owner: 'alice', peer: [1001], online_at: '2024-05-01 08:00:00' });
  });

  it('text cells are sent trimmed, as the server stores them, so a later --key look-up finds them', async () => {
    const input = tmp.file('trim.csv', csv(['bk_inst_name,bk_asset_id,bk_sn', '  padded name  ,  TRIM-1  , sn ']));
    const r = await cli('esb', ['create-inst', input, '--obj', 'bk_switch'], 'trim');
    expect(r.code, r.stderr).toBe(0);
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'TRIM-1')).toMatchObject({ bk_inst_name: 'padded name', bk_sn: 'sn' });
    const upd = await cli('esb', ['update-inst', tmp.file('trim-upd.csv', csv(['bk_asset_id,port_count', 'TRIM-1,7'])), '--obj', 'bk_switch', '--key', 'bk_asset_id'], 'trim-upd');
    expect(upd.code, upd.stderr).toBe(0);
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'TRIM-1')).toMatchObject({ port_count: 7 });
  });
});

describe('unclear creates are checked by a unique rule the row fills', () => {
  it('via apigw, without --key: a 504 after the create is settled by bk_inst_name (the default rule), nothing created twice', async () => {
    sim.setFaults({ appliedThen504Rate: 1, ops: ['batch_create_inst'] });
    clearOn = /applied, then 504/;
    const r = await cli('apigw', ['create-inst', switches('u504', 12), '--obj', 'bk_switch'], 'u504');
    expect(r.code, r.stderr).toBe(0);
    expect(requests('search_object_unique')).toBe(1);
    expect(requests('batch_create_inst')).toBe(1);
    for (let i = 0; i < 12; i++) expect(sim.store.instances('bk_switch').filter((s) => s.bk_inst_name === `u504-${i}`)).toHaveLength(1);
  });
});

describe('--tenant and --supplier-account', () => {
  let proxy: Server;
  const seen: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  let url = '';
  beforeAll(async () => {
    // A recording front for the simulator: what the CLI sends, forwarded unchanged.
    proxy = createServer((req, res) => {
      seen.push(req.headers);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        bodies.push(body.toString('utf8'));
        const fwd = httpRequest({ host: '127.0.0.1', port: sim.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        fwd.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  it('apigw: X-Bk-Tenant-Id and X-Bkcmdb-Supplier-Account on every request; ESB: the tenant header, bk_supplier_account in the body', async () => {
    const input = tmp.file('tenant.csv', csv(['bk_inst_id,port_count', '1001,9']));
    seen.length = 0;
    const gw = await runCli(['update-inst', input, '--obj', 'bk_switch', '--tenant', 'acme', '--supplier-account', '7', '--report', join(tmp.dir, 't1.csv')], { env: cmdbEnv(sim, 'apigw', { CMDB_URL: `${url}/api/bk-cmdb/prod` }) });
    expect(gw.code, gw.stderr).toBe(0);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const h of seen) expect([h['x-bk-tenant-id'], h['x-bkcmdb-supplier-account']]).toEqual(['acme', '7']);
    seen.length = 0;
    bodies.length = 0;
    const esb = await runCli(['update-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 't2.csv')], { env: cmdbEnv(sim, 'esb', { CMDB_URL: url, BK_TENANT_ID: 'acme', BK_SUPPLIER_ACCOUNT: '0' }) });
    expect(esb.code, esb.stderr).toBe(0);
    for (const h of seen) expect(h['x-bk-tenant-id']).toBe('acme');
    for (const b of bodies) expect(JSON.parse(b)).toMatchObject({ bk_supplier_account: '0' });
    expect(sim.store.instance('bk_switch', 1001)).toMatchObject({ port_count: 9 });
  });
});
