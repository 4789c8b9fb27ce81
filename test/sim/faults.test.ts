import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { apigw, call, esb, feishuToken, manualClock, records } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
const start = async (o: SimOptions = {}) => (sim = await startSimulator({ apigwWindows: false, feishuWindows: false, ...o }));
const createOne = (s: Simulator, asset: string) =>
  apigw(s, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [{ bk_inst_name: asset, bk_asset_id: asset }] });
const readAttr = (s: Simulator) => apigw(s, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' });

describe('faults', () => {
  it('latency delays every data request by at least the configured time, not control requests', async () => {
    const s = await start({ faults: { latencyMs: 80 } });
    const t0 = performance.now();
    await readAttr(s);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(s.counters().faultsInjected.latency).toBe(1);
    const c = await call(`${s.urls.control}/counters`, 'GET');
    expect(c.json.requests.search_object_attribute).toBe(1);
    expect(s.counters().faultsInjected.latency).toBe(1);
  });

  it('error5xxRate answers 500/502/503 for about that share, without applying', async () => {
    const s = await start({ seed: 7, faults: { error5xxRate: 0.3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await createOne(s, `A-${i}`)).status);
    const bad = statuses.filter((x) => x >= 500);
    expect(bad.length).toBeGreaterThan(40);
    expect(bad.length).toBeLessThan(80);
    expect(new Set(bad)).toEqual(new Set([500, 502, 503]));
    expect(s.store.instances('bk_switch')).toHaveLength(20 + 200 - bad.length);
    expect(s.counters().faultsInjected.error5xx).toBe(bad.length);
  });

  it('dropRate destroys the socket without applying: the client sees a socket error', async () => {
    const s = await start({ faults: { dropRate: 1 } });
    await expect(createOne(s, 'DROP-1')).rejects.toThrow();
    expect(s.store.findBy('bk_switch', 'bk_asset_id', 'DROP-1')).toBeUndefined();
    expect(s.counters().faultsInjected.drop).toBe(1);
  });

  it('dropAfterApplyRate applies the write, then destroys the socket; reads are not affected', async () => {
    const s = await start({ faults: { dropAfterApplyRate: 1 } });
    await expect(createOne(s, 'DAA-1')).rejects.toThrow();
    expect(s.store.findBy('bk_switch', 'bk_asset_id', 'DAA-1')).toBeDefined();
    expect((await readAttr(s)).status).toBe(200);
    expect(s.counters().faultsInjected.dropAfterApply).toBe(1);
  });

  it('appliedThen504Rate applies the write and answers 504 / 1650401 on both CMDB doors and Feishu', async () => {
    const s = await start({ faults: { appliedThen504Rate: 1 } });
    const r = await createOne(s, 'T504-1');
    expect(r.status).toBe(504);
    expect(r.json).toEqual({ code: 1650401, code_name: 'REQUEST_BACKEND_TIMEOUT', message: 'Request backend service timeout', result: false, data: null });
    expect(r.headers['x-bkapi-error-code']).toBe('1650401');
    expect(s.store.findBy('bk_switch', 'bk_asset_id', 'T504-1')).toBeDefined();
    const e = await esb(s, 'update_process_instance', { bk_biz_id: 2, processes: [{ bk_process_id: 1001, bk_process_name: 'p', proc_num: 7 }] });
    expect(e.status).toBe(504);
    expect(s.store.process(1001)!.proc_num).toBe(7);
    const token = await feishuToken(s);
    const f = await records(s, token, 'batch_update', { records: JSON.stringify([{ _id: '1798681438085001', status: 'late' }]) });
    expect(f.status).toBe(504);
    expect(s.store.records('package_demo__c', 'device')[0]!.status).toBe('late');
    expect((await readAttr(s)).status).toBe(200);
    expect(s.counters().faultsInjected.appliedThen504).toBe(3);
  });

  it('appliedThen1306201Rate applies an ESB write, then answers HTTP 200 with 1306201; other doors ignore it', async () => {
    const s = await start({ faults: { appliedThen1306201Rate: 1 } });
    const e = await esb(s, 'batch_create_inst', { bk_obj_id: 'bk_switch', details: [{ bk_inst_name: 't-1', bk_asset_id: 'T201-1' }] });
    expect(e.status).toBe(200);
    expect(e.json).toMatchObject({ result: false, code: 1306201, data: null, message: expect.stringMatching(/response time exceeds 30 seconds/) });
    expect(s.store.findBy('bk_switch', 'bk_asset_id', 'T201-1')).toBeDefined();
    const gw = await createOne(s, 'T201-2');
    expect(gw.status).toBe(200);
    expect(gw.json.result).toBe(true);
    expect((await esb(s, 'search_object_attribute', { bk_obj_id: 'bk_switch' })).json.result).toBe(true);
    expect(s.counters().faultsInjected.appliedThen1306201).toBe(1);
  });

  it('storm429 refuses the next N data requests in each door style, with the storm reset', async () => {
    const s = await start({ faults: { storm429: 3, stormResetSec: 0.5 } });
    const gw = await readAttr(s);
    expect([gw.status, gw.json.code, gw.headers['x-bkapi-ratelimit-reset']]).toEqual([429, 1642903, '0.5']);
    const e = await esb(s, 'search_object_attribute', { bk_obj_id: 'bk_switch' });
    expect([e.status, e.json.code]).toEqual([200, 1306429]);
    const t = await call(`${s.urls.feishu}/open-apis/auth/v3/tenant_access_token/internal`, 'POST', { app_id: 'x', app_secret: 'y' });
    expect([t.status, t.json.code, t.headers['x-ogw-ratelimit-reset']]).toEqual([429, 99991400, '0.5']);
    expect((await readAttr(s)).status).toBe(200);
    expect(s.counters().http429).toBe(3);
    expect(s.counters().faultsInjected.storm429).toBe(3);
  });

  it('ops limits faults to the named operations', async () => {
    const s = await start({ faults: { error5xxRate: 1, ops: ['batch_create_inst'] } });
    expect((await readAttr(s)).status).toBe(200);
    expect((await createOne(s, 'OPS-1')).status).toBeGreaterThanOrEqual(500);
  });

  it('the same seed and the same requests give the same faults; another seed differs', async () => {
    const run = async (seed: number) => {
      const s = await startSimulator({ seed, apigwWindows: false, faults: { error5xxRate: 0.4, appliedThen504Rate: 0.3 } });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push((await createOne(s, `R-${i}`)).status);
      const assets = s.store.instances('bk_switch').map((r) => r.bk_asset_id);
      // setFaults restarts the sequence: the replay repeats on the same server.
      s.reset();
      s.setFaults({ error5xxRate: 0.4, appliedThen504Rate: 0.3 });
      const again: number[] = [];
      for (let i = 0; i < 40; i++) again.push((await createOne(s, `R-${i}`)).status);
      await s.close();
      return { out, again, assets };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(a.out).toEqual(b.out);
    expect(a.assets).toEqual(b.assets);
    expect(a.again).toEqual(a.out);
    expect(c.out).not.toEqual(a.out);
    expect(new Set(a.out)).toContain(504);
  });
});

describe('control endpoints and counters', () => {
  it('POST /__sim/faults sets faults (validated), GET state / counters report, POST reset restores the seeded world', async () => {
    const s = await start();
    const bad = await call(`${s.urls.control}/faults`, 'POST', { error5xxRate: 2 });
    expect(bad.status).toBe(400);
    const set = await call(`${s.urls.control}/faults`, 'POST', { error5xxRate: 1, ops: ['batch_create_inst'] });
    expect(set.json).toMatchObject({ ok: true, faults: { error5xxRate: 1 } });
    expect((await createOne(s, 'C-1')).status).toBeGreaterThanOrEqual(500);
    await call(`${s.urls.control}/faults`, 'POST', {});
    expect((await createOne(s, 'C-2')).json.result).toBe(true);

    const state = await call(`${s.urls.control}/state`, 'GET');
    expect(state.json.instances.bk_switch).toHaveLength(21);
    expect(state.json.instances.host).toHaveLength(200);
    expect(state.json.processes).toHaveLength(510);
    expect(state.json.records['package_demo__c/device']).toHaveLength(50);
    const counters = await call(`${s.urls.control}/counters`, 'GET');
    expect(counters.json).toMatchObject({ requests: { batch_create_inst: 2 }, writeRequests: 2, faultsInjected: { error5xx: 1 }, rowsApplied: { batch_create_inst: 1 } });

    expect((await call(`${s.urls.control}/reset`, 'POST')).json.ok).toBe(true);
    expect(s.store.instances('bk_switch')).toHaveLength(20);
    expect(s.counters().requests).toEqual({});
    expect((await createOne(s, 'C-3')).json.data.success_created).toEqual({ '0': 1026 });
  });

  it('maxPerSecond is the highest count in any sliding second, per operation', async () => {
    const clock = manualClock();
    const s = await start({ clock: clock.now });
    for (let i = 0; i < 4; i++) {
      await readAttr(s);
      clock.advance(300);
    }
    clock.advance(2000);
    for (let i = 0; i < 3; i++) await readAttr(s);
    await createOne(s, 'M-1');
    expect(s.counters().maxPerSecond).toEqual({ search_object_attribute: 4, batch_create_inst: 1 });
  });

  it('close() ends keep-alive connections promptly', async () => {
    const s = await start();
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const { request } = await import('undici');
    const r = await request(`${s.urls.control}/counters`, { dispatcher: agent });
    await r.body.text();
    const t0 = performance.now();
    await s.close();
    sim = undefined;
    expect(performance.now() - t0).toBeLessThan(5000);
    await agent.close();
  });
});
