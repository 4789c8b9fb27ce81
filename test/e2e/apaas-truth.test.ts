/**
 * Issue 13 end to end: the built CLI against the strict simulator (batch_query as documented) and, for answers the
 * simulator never gives (a server that ignores the filter, item ids that do not match, quota and IP refusals), a
 * small loopback stub. Every test asserts the store (or what reached the server), the report and the exit code.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Row, Simulator } from '../../src/sim/index.js';
import { csv, expectRowsOnce, readReport, runCli, tempDir, withSim } from './helpers.js';

const NS = 'package_demo__c';
const OBJ = 'device';
const target = ['--namespace', NS, '--object', OBJ];
const serial = (n: number) => `DEV-SN-${String(n).padStart(4, '0')}`;
const idOf = (n: number) => String(1798681438085001 + n - 1);

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let sim: Simulator;
beforeAll(async () => {
  sim = await withSim();
});
afterAll(() => sim.close());
afterEach(() => sim.reset());

const env = () => ({ FEISHU_URL: sim.urls.feishu, FEISHU_APP_ID: sim.credentials.feishuAppId, FEISHU_APP_SECRET: sim.credentials.feishuAppSecret });
const records = () => sim.store.records(NS, OBJ);
const bySerial = (s: string) => records().filter((r) => r.serial_no === s);
const requests = (op: string) => sim.counters().requests[op] ?? 0;

describe('apaas-update --key / apaas-delete --key', () => {
  it('update names records by serial_no: resolved with batch_query, the key column not sent; none or several → invalid with the reason', async () => {
    // A second record with serial 3: that key names two records.
    const dup = String(sim.store.nextFeishuId++);
    sim.store.table(NS, OBJ).set(dup, { _id: dup, name: 'twin', serial_no: serial(3), status: 'online' });
    const file = tmp.file('upd-key.csv', csv(['serial_no,status,cpu_cores:bigint', `${serial(1)},maintenance,16`, `${serial(2)},retired,`, `${serial(3)},retired,4`, 'DEV-SN-9999,retired,4']));
    const report = join(tmp.dir, 'upd-key.report.csv');
    const r = await runCli(['apaas-update', file, ...target, '--key', 'serial_no', '--skip-invalid', '--report', report], { env: env() });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expectRowsOnce(rows, 4);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'ok', 'invalid', 'invalid']);
    expect(rows[0]).toMatchObject({ id: idOf(1), detail: `serial_no "${serial(1)}" → _id ${idOf(1)}` });
    expect(rows[2]!.error).toMatch(new RegExp(`2 device records have serial_no "${serial(3)}" \\(_id ${idOf(3)}, ${dup}\\)`));
    expect(rows[3]!.error).toMatch(/no device record has serial_no "DEV-SN-9999"/);
    const t = sim.store.table(NS, OBJ);
    expect(t.get(idOf(1))).toMatchObject({ status: 'maintenance', cpu_cores: '16', serial_no: serial(1) });
    expect(t.get(idOf(2))).toMatchObject({ status: 'retired', cpu_cores: 8 });
    expect(t.get(idOf(3))!.status).toBe('online');
    expect(t.get(dup)!.status).toBe('online');
    expect(requests('feishu_batch_update')).toBe(1);
    // Pass 1 and pass 2 resolve the same keys: answers are cached, one query.
    expect(requests('feishu_batch_query')).toBe(1);
  });

  it('delete names records by serial_no; an unknown key is invalid and nothing is deleted for it', async () => {
    const file = tmp.file('del-key.csv', csv(['serial_no', serial(10), serial(11), 'NOPE']));
    const report = join(tmp.dir, 'del-key.report.csv');
    const r = await runCli(['apaas-delete', file, ...target, '--key', 'serial_no', '--skip-invalid', '--report', report], { env: env() });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expect(rows.map((x) => [x.status, x.id ?? ''])).toEqual([['ok', idOf(10)], ['ok', idOf(11)], ['invalid', '']]);
    expect(bySerial(serial(10))).toHaveLength(0);
    expect(bySerial(serial(11))).toHaveLength(0);
    expect(records()).toHaveLength(48);
  });

  it('without --skip-invalid a key that matches nothing stops the run before any write', async () => {
    const file = tmp.file('upd-key-bad.csv', csv(['serial_no,status', `${serial(1)},x`, 'NOPE,x']));
    const r = await runCli(['apaas-update', file, ...target, '--key', 'serial_no', '--report', join(tmp.dir, 'upd-key-bad.report.csv')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 2: serial_no: no device record has serial_no "NOPE"/);
    expect(requests('feishu_batch_update')).toBe(0);
    expect(sim.store.table(NS, OBJ).get(idOf(1))!.status).toBe('online');
  });
});

describe('apaas-create never duplicates', () => {
  it('--key looks the keys up first: existing keys fail "already exists" with a safe Next, the rest are created once', async () => {
    const file = tmp.file('create-some.csv', csv(['name,serial_no,status', `a,${serial(5)},online`, 'b,NEW-1,online', `c,${serial(6)},online`, 'd,NEW-2,online']));
    const report = join(tmp.dir, 'create-some.report.csv');
    const r = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', report], { env: env() });
    expect(r.code).toBe(3);
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(['failed', 'ok', 'failed', 'ok']);
    expect(rows[0]).toMatchObject({ error_code: 'already_exists' });
    expect(rows[0]!.error).toContain(`already exists (serial_no "${serial(5)}" → _id ${idOf(5)}); not created. Next: to change it, load this row with apaas-update --key serial_no`);
    for (const s of [serial(5), serial(6), 'NEW-1', 'NEW-2']) expect(bySerial(s)).toHaveLength(1);
    expect(bySerial(serial(5))[0]!.name).toBe('device-005'); // untouched
    expect(records()).toHaveLength(52);
    expect(requests('feishu_batch_create')).toBe(1);

    // Following the Next: the same row through apaas-update --key changes that record.
    const upd = tmp.file('create-some-next.csv', csv(['name,serial_no,status', `a,${serial(5)},online`]));
    const u = await runCli(['apaas-update', upd, ...target, '--key', 'serial_no', '--report', join(tmp.dir, 'next.report.csv')], { env: env() });
    expect(u.code).toBe(0);
    expect(bySerial(serial(5))).toEqual([expect.objectContaining({ _id: idOf(5), name: 'a' })]);
    expect(records()).toHaveLength(52);
  });

  it('running the same create file again with --key creates nothing', async () => {
    const file = tmp.file('create-twice.csv', csv(['name,serial_no', 'x,TWICE-1', 'y,TWICE-2']));
    const first = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', join(tmp.dir, 'twice-1.report.csv')], { env: env() });
    expect(first.code).toBe(0);
    const report = join(tmp.dir, 'twice-2.report.csv');
    const again = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', report, '--json'], { env: env() });
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: 0, failed: 2 });
    expect(readReport(report).every((x) => x.error_code === 'already_exists')).toBe(true);
    expect(bySerial('TWICE-1')).toHaveLength(1);
    expect(bySerial('TWICE-2')).toHaveLength(1);
    expect(requests('feishu_batch_create')).toBe(1);
  });

  it('two rows of one file with the same key are caught before anything is sent', async () => {
    const file = tmp.file('create-dup.csv', csv(['name,serial_no', 'a,DUP-1', 'b,DUP-2', 'c,DUP-1', 'd,']));
    const report = join(tmp.dir, 'create-dup.report.csv');
    const r = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', report], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 3: serial_no "DUP-1" is also in row 1 of this file/);
    expect(r.stderr).toMatch(/row 4: serial_no is empty/);
    expect(requests('feishu_batch_create')).toBe(0);
    expect(records()).toHaveLength(50);
  });

  it('without --key the tool says it cannot tell whether the records exist', async () => {
    const file = tmp.file('create-nokey.csv', csv(['name', 'solo']));
    const r = await runCli(['apaas-create', file, ...target, '--report', join(tmp.dir, 'nokey.report.csv')], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/without --key, apaas-create cannot tell whether a record already exists/);
    expect(records().filter((x) => x.name === 'solo')).toHaveLength(1);
  });
});

describe('values as aPaaS wants them', () => {
  it('header hints send integers and decimals as strings, date-times as ms, multi-select lists, lookups, multilingual', async () => {
    const file = tmp.file('values.csv', csv([
      'name,serial_no,cpu_cores:bigint,price:decimal,bought_at:datetime,tags:multiselect,rack:lookup,label:multilingual,in_service:bool',
      `v1,VAL-1,16,1299.50,2024-06-01T08:30:00Z,opt_a|opt_b,${idOf(1)},"{""zh_CN"":""交换机"",""en_US"":""Switch""}",yes`,
      'v2,VAL-2,+8,0.5,2024-06-01 16:30 +08:00,opt_c,,Core,no',
    ]));
    const r = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', join(tmp.dir, 'values.report.csv')], { env: env() });
    expect(r.code).toBe(0);
    expect(bySerial('VAL-1')[0]).toEqual(expect.objectContaining({
      cpu_cores: '16', price: '1299.50', bought_at: Date.UTC(2024, 5, 1, 8, 30), tags: ['opt_a', 'opt_b'], rack: { _id: idOf(1) },
      label: { zh_CN: '交换机', en_US: 'Switch' }, in_service: true,
    }));
    const v2 = bySerial('VAL-2')[0]!;
    expect(v2).toEqual(expect.objectContaining({ cpu_cores: '8', price: '0.5', bought_at: Date.UTC(2024, 5, 1, 8, 30), tags: ['opt_c'], label: { zh_CN: 'Core', en_US: 'Core' }, in_service: false }));
    expect(v2).not.toHaveProperty('rack');
  });

  it('a cell that does not fit its aPaaS hint makes the row invalid, naming the field', async () => {
    const file = tmp.file('values-bad.csv', csv(['_id,cpu_cores:bigint,seen:datetime', `${idOf(1)},sixteen,2024-02-30`]));
    const r = await runCli(['apaas-update', file, ...target, '--report', join(tmp.dir, 'values-bad.report.csv')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cpu_cores: expected a whole number/);
    expect(r.stderr).toMatch(/seen: "2024-02-30" is not a real date-time/);
    expect(requests('feishu_batch_update')).toBe(0);
  });
});

// ---- answers the simulator never gives: a loopback stub ----

interface Stub {
  url: string;
  calls: Array<{ path: string; body: Record<string, any> }>;
  close(): Promise<void>;
}

/** A Feishu stand-in: the token endpoint answers; every records call goes to `answer`. */
async function stub(
  answer: (action: string, body: Record<string, any>) => { status: number; body: unknown },
  token: { status: number; body: unknown } = { status: 200, body: { code: 0, msg: 'ok', tenant_access_token: 't-stub', expire: 7200 } },
): Promise<Stub> {
  const calls: Stub['calls'] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : {};
      const reply = (status: number, b: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(b));
      };
      calls.push({ path: req.url!, body });
      if (req.url!.endsWith('/tenant_access_token/internal')) return reply(token.status, token.body);
      const a = answer(req.url!.split('/').pop()!, body);
      reply(a.status, a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((r) => server.close(() => r())) };
}
const stubEnv = (s: Stub) => ({ FEISHU_URL: s.url, FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: 'stub-secret' });
const ok = (data: unknown) => ({ status: 200, body: { code: 0, msg: 'success', data } });

describe('answers that cannot be trusted', () => {
  it('a server that ignores the filter: the create look-up concludes nothing and nothing is created', async () => {
    const s = await stub((action) => (action === 'batch_query' ? ok({ items: JSON.stringify([{ _id: '1', serial_no: 'SOMETHING-ELSE' }]), has_more: false }) : ok({ items: [] })));
    try {
      const file = tmp.file('ignored-filter.csv', csv(['name,serial_no', 'a,K-1']));
      const report = join(tmp.dir, 'ignored-filter.report.csv');
      const r = await runCli(['apaas-create', file, ...target, '--key', 'serial_no', '--report', report], { env: stubEnv(s) });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/did not apply the filter/);
      expect(s.calls.filter((c) => c.path.endsWith('/batch_create'))).toHaveLength(0);
      expect(readReport(report)[0]!.status).toBe('unsent');
    } finally {
      await s.close();
    }
  });

  it('a look-up whose page token does not move stops after two pages instead of looping', async () => {
    const s = await stub((action) => (action === 'batch_query' ? ok({ items: JSON.stringify([{ _id: '1', serial_no: 'K-1' }]), has_more: true, next_page_token: 'same' }) : ok({ items: [] })));
    try {
      const file = tmp.file('stuck-token.csv', csv(['serial_no,status', 'K-1,x']));
      const r = await runCli(['apaas-update', file, ...target, '--key', 'serial_no', '--report', join(tmp.dir, 'stuck.report.csv')], { env: stubEnv(s) });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/hands back the same page token/);
      const queries = s.calls.filter((c) => c.path.endsWith('/batch_query'));
      expect(queries).toHaveLength(2);
      expect(queries[0]!.body).toMatchObject({ use_page_token: true, filter: { logic_expression: '1', conditions: [{ index: '1', operator: 'isAnyOf' }] } });
      expect(s.calls.filter((c) => c.path.endsWith('/batch_update'))).toHaveLength(0);
    } finally {
      await s.close();
    }
  });

  it('update and delete: an answer item naming another record is a protocol error for that row, not ok', async () => {
    const s = await stub((action, body) => {
      const sent: string[] = action === 'batch_delete' ? body.ids : JSON.parse(body.records).map((x: Row) => x._id);
      return ok({ items: sent.map((id, i) => ({ success: true, id: i === 1 ? '999' : id, errors: [] })) });
    });
    try {
      for (const cmd of ['apaas-update', 'apaas-delete']) {
        const file = tmp.file(`${cmd}-ids.csv`, csv(['_id,status', '11,x', '12,x', '13,x']));
        const report = join(tmp.dir, `${cmd}-ids.report.csv`);
        const r = await runCli([cmd, file, ...target, '--report', report], { env: stubEnv(s) });
        expect(r.code).toBe(3);
        const rows = readReport(report);
        expect(rows.map((x) => x.status)).toEqual(['ok', 'failed', 'ok']);
        expect(rows[1]).toMatchObject({ error_code: 'protocol', error: expect.stringMatching(/answer for record 12 names record 999/) });
      }
    } finally {
      await s.close();
    }
  });
});

describe('quota and IP allow list', () => {
  it('the token endpoint answering 99991401 stops the run with the IP advice, not "check the credentials"', async () => {
    const s = await stub(() => ok({ items: [] }), { status: 400, body: { code: 99991401, msg: 'ip not allowed' } });
    try {
      const file = tmp.file('token-ip.csv', csv(['_id,status', '11,x']));
      const report = join(tmp.dir, 'token-ip.report.csv');
      const r = await runCli(['apaas-update', file, ...target, '--report', report], { env: stubEnv(s), timeoutMs: 20_000 });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/IP allow list/);
      expect(r.stderr).not.toMatch(/check FEISHU_APP_ID \/ FEISHU_APP_SECRET/);
      expect(s.calls.map((c) => c.path.split('/').pop())).toEqual(['internal']);
      expect(readReport(report)[0]!.status).toBe('unsent');
    } finally {
      await s.close();
    }
  });

  for (const [what, status, code, says] of [
    ['the monthly call quota', 429, 99991403, /monthly API call quota is used up/],
    ['the IP allow list', 400, 99991401, /IP allow list/],
  ] as const) {
    it(`${what} (${code}) stops the run at the first answer with advice: exit 4, rows unsent, nothing waited out`, async () => {
      const s = await stub(() => ({ status, body: { code, msg: 'refused' } }));
      try {
        const file = tmp.file(`stop-${code}.csv`, csv(['_id,status', '11,x', '12,x']));
        const report = join(tmp.dir, `stop-${code}.report.csv`);
        const r = await runCli(['apaas-update', file, ...target, '--report', report, '--batch-size', '1', '--concurrency', '1'], { env: stubEnv(s), timeoutMs: 20_000 });
        expect(r.code).toBe(4);
        expect(r.stderr).toMatch(says);
        expect(s.calls.filter((c) => c.path.endsWith('/batch_update'))).toHaveLength(1);
        expect(readReport(report).map((x) => x.status)).toEqual(['unsent', 'unsent']);
        expect(r.stderr).not.toContain('stub-secret');
      } finally {
        await s.close();
      }
    });
  }
});
