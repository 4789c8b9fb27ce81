import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, feishuToken, manualClock, records } from './helpers.js';

const clock = manualClock();
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ feishuWindows: false, tokenTtlSec: 100, clock: clock.now });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const tokenUrl = () => `${sim.urls.feishu}/open-apis/auth/v3/tenant_access_token/internal`;
const filter = (index: string, field: string, operator: string, data: unknown) => ({
  index,
  left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: field, objectApiName: 'device' }] }) },
  operator,
  right: { type: 'constant', settings: JSON.stringify({ data }) },
});

describe('tenant access token', () => {
  it('answers at top level, reuses the token while enough life is left and renews under half the TTL', async () => {
    const body = { app_id: sim.credentials.feishuAppId, app_secret: sim.credentials.feishuAppSecret };
    const a = await call(tokenUrl(), 'POST', body);
    expect(a.json).toMatchObject({ code: 0, msg: 'ok', expire: 100 });
    expect(a.json.tenant_access_token).toMatch(/^t-/);
    expect(a.json).not.toHaveProperty('data');
    clock.advance(40_000);
    const b = await call(tokenUrl(), 'POST', body);
    expect(b.json.tenant_access_token).toBe(a.json.tenant_access_token);
    expect(b.json.expire).toBe(60);
    clock.advance(20_000); // 40 s left < 50 s = half the lifetime
    const c = await call(tokenUrl(), 'POST', body);
    expect(c.json.tenant_access_token).not.toBe(a.json.tenant_access_token);
    expect(c.json.expire).toBe(100);
    expect(sim.counters().tokenFetches).toBe(3);
    // The old token stays valid until it expires.
    expect((await records(sim, a.json.tenant_access_token, 'batch_query', { select: ['_id'], page_size: 1 })).json.code).toBe(0);
  });

  it('bad app_id -> 10003, bad secret -> 10014, HTTP 200, secret not echoed', async () => {
    const a = await call(tokenUrl(), 'POST', { app_id: 'cli_other', app_secret: 'x' });
    expect([a.status, a.json.code]).toEqual([200, 10003]);
    const b = await call(tokenUrl(), 'POST', { app_id: sim.credentials.feishuAppId, app_secret: 'guess-secret' });
    expect([b.status, b.json.code]).toEqual([200, 10014]);
    expect(b.text).not.toContain('guess-secret');
    expect(sim.counters().tokenFetches).toBe(0);
  });

  it('records calls need a live token: missing -> 99991661, unknown or expired -> 99991663', async () => {
    const none = await records(sim, null, 'batch_query', {});
    expect([none.status, none.json.code]).toEqual([400, 99991661]);
    const bogus = await records(sim, 't-bogus', 'batch_query', {});
    expect([bogus.status, bogus.json.code]).toEqual([401, 99991663]);
    const t = await feishuToken(sim);
    clock.advance(100_000);
    const expired = await records(sim, t, 'batch_update', { records: JSON.stringify([{ _id: '1798681438085001', status: 'x' }]) });
    expect([expired.status, expired.json.code]).toEqual([401, 99991663]);
    expect(sim.store.records('package_demo__c', 'device')[0]!.status).toBe('online');
  });
});

describe('records', () => {
  let token: string;
  beforeEach(async () => {
    token = await feishuToken(sim);
  });

  it('batch_update: per-item results in order; unknown _id, missing _id and "__reject__" fail alone', async () => {
    const list = [
      { _id: '1798681438085001', status: 'offline', cpu_cores: 16 },
      { _id: '1798681438085999', status: 'offline' },
      { status: 'offline' },
      { _id: '1798681438085003', status: '__reject__' },
      { _id: '1798681438085004', location: 'rack-99' },
    ];
    const r = await records(sim, token, 'batch_update', { records: JSON.stringify(list) });
    expect([r.status, r.json.code, r.json.msg]).toEqual([200, 0, 'success']);
    const items = r.json.data.items;
    expect(items.map((i: { success: boolean }) => i.success)).toEqual([true, false, false, false, true]);
    expect(items[0]).toEqual({ success: true, id: '1798681438085001', errors: [] });
    expect(items[1].errors[0]).toMatchObject({ code: 'k_ec_000015', fields: ['_id'] });
    expect(items[3].errors[0].fields).toEqual(['status']);
    const rows = sim.store.records('package_demo__c', 'device');
    expect(rows[0]).toMatchObject({ status: 'offline', cpu_cores: 16 });
    expect(rows[2]!.status).toBe('online');
    expect(rows[3]!.location).toBe('rack-99');
    expect(sim.counters().rowsApplied.feishu_batch_update).toBe(2);
  });

  it('records must be a JSON string of at most 500 maps (2320001, HTTP 400)', async () => {
    const asArray = await records(sim, token, 'batch_update', { records: [{ _id: '1798681438085001' }] });
    expect([asArray.status, asArray.json.code]).toEqual([400, 2320001]);
    const big = Array.from({ length: 501 }, (_, i) => ({ _id: String(1798681438085001 + (i % 50)) }));
    const tooMany = await records(sim, token, 'batch_update', { records: JSON.stringify(big) });
    expect([tooMany.status, tooMany.json.code]).toEqual([400, 2320001]);
    const fine = await records(sim, token, 'batch_update', { records: JSON.stringify(big.slice(0, 500)) });
    expect(fine.json.data.items).toHaveLength(500);
  });

  it('batch_create assigns 16-digit string ids in any namespace/object; batch_delete takes a real array', async () => {
    const c = await records(sim, token, 'batch_create', { records: JSON.stringify([{ name: 'a' }, { name: '__reject__' }, { name: 'b' }]) }, 'ns_x__c', 'thing');
    const items = c.json.data.items;
    expect(items.map((i: { success: boolean }) => i.success)).toEqual([true, false, true]);
    expect(items[0].id).toMatch(/^\d{16}$/);
    expect(sim.store.records('ns_x__c', 'thing').map((r) => r.name)).toEqual(['a', 'b']);
    const bad = await records(sim, token, 'batch_delete', { ids: JSON.stringify([items[0].id]) }, 'ns_x__c', 'thing');
    expect(bad.json.code).toBe(2320001);
    const d = await records(sim, token, 'batch_delete', { ids: [items[0].id, '1'] }, 'ns_x__c', 'thing');
    expect(d.json.data.items.map((i: { success: boolean }) => i.success)).toEqual([true, false]);
    expect(sim.store.records('ns_x__c', 'thing')).toHaveLength(1);
  });

  it('batch_query pages with a JSON-string items list and filters by equals / isAnyOf', async () => {
    const p1 = await records(sim, token, 'batch_query', { select: ['_id', 'name'], page_size: 20, use_page_token: true, need_total_count: true });
    expect(p1.json.data).toMatchObject({ has_more: true, total: 50 });
    expect(typeof p1.json.data.items).toBe('string');
    const items = JSON.parse(p1.json.data.items);
    expect(items[0]).toEqual({ _id: '1798681438085001', name: 'device-001' });
    const p2 = await records(sim, token, 'batch_query', { select: ['name'], page_size: 20, page_token: p1.json.data.next_page_token, use_page_token: true });
    expect(JSON.parse(p2.json.data.items)[0]).toEqual({ name: 'device-021' });
    const f = await records(sim, token, 'batch_query', {
      select: ['name'], page_size: 500,
      filter: { conditions: [filter('1', 'name', 'isAnyOf', ['device-002', 'device-007', 'device-009']), filter('2', 'location', 'equals', 'rack-08')], logic_expression: '1 AND 2' },
    });
    expect(JSON.parse(f.json.data.items).map((r: { name: string }) => r.name)).toEqual(['device-007']);
    const tooBig = await records(sim, token, 'batch_query', { select: ['name'], page_size: 501 });
    expect(tooBig.json.code).toBe(2320001);
  });
});
