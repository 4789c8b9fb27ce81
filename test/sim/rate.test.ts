import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, esb, feishuToken, manualClock, records } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('Feishu windows (per app, per operation)', () => {
  it('the short window refuses the 6th request in 200 ms with 429, 99991400 and x-ogw-ratelimit-reset', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now, feishuWindows: [{ limit: 5, windowMs: 200 }, { limit: 12, windowMs: 2000 }] });
    const token = await feishuToken(sim);
    const q = () => records(sim!, token, 'batch_query', { select: ['_id'], page_size: 1 });
    for (let i = 0; i < 5; i++) {
      expect((await q()).status).toBe(200);
      clock.advance(10);
    }
    const refused = await q();
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ code: 99991400, msg: 'request trigger frequency limit' });
    // First request at t0, now t0+50: it leaves the window in 150 ms.
    expect(Number(refused.headers['x-ogw-ratelimit-reset'])).toBeCloseTo(0.15, 3);
    // Other operations have their own windows.
    expect((await records(sim, token, 'batch_update', { records: JSON.stringify([{ _id: '1798681438085001' }]) })).status).toBe(200);
    clock.advance(150);
    expect((await q()).status).toBe(200);
    expect(sim.counters().http429).toBe(1);
  });

  it('the long window refuses once its budget is spent, even with the short window free', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now, feishuWindows: [{ limit: 5, windowMs: 200 }, { limit: 12, windowMs: 2000 }] });
    const token = await feishuToken(sim);
    const q = () => records(sim!, token, 'batch_query', { select: ['_id'], page_size: 1 });
    // Evenly at the short ceiling (one every 40 ms): never refused by the short window.
    for (let i = 0; i < 12; i++) {
      expect((await q()).status).toBe(200);
      clock.advance(40);
    }
    const refused = await q();
    expect(refused.status).toBe(429);
    // The first request (t0) leaves the 2000 ms window at t0+2000; now is t0+480.
    expect(Number(refused.headers['x-ogw-ratelimit-reset'])).toBeCloseTo(1.52, 3);
    clock.advance(1520);
    expect((await q()).status).toBe(200);
    expect(sim.counters().http429).toBe(1);
  });
});

describe('CMDB windows', () => {
  it('apigw: per app per resource, 429 with 1642903 and X-Bkapi-RateLimit-* headers, no Retry-After', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now, apigwWindows: [{ limit: 5, windowMs: 200 }] });
    const attr = () => apigw(sim!, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' });
    for (let i = 0; i < 5; i++) {
      const ok = await attr();
      expect(ok.status).toBe(200);
      expect(ok.headers['x-bkapi-ratelimit-remaining']).toBe(String(4 - i));
    }
    const refused = await attr();
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ code: 1642903, code_name: 'RATE_LIMIT_RESTRICTION', message: 'API rate limit exceeded by resource strategy', result: false, data: null });
    expect(refused.headers['x-bkapi-error-code']).toBe('1642903');
    expect(refused.headers['x-bkapi-ratelimit-limit']).toBe('5');
    expect(refused.headers['x-bkapi-ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['x-bkapi-ratelimit-reset'])).toBeCloseTo(0.2, 3);
    expect(refused.headers['retry-after']).toBeUndefined();
    // Another resource is counted separately.
    expect((await apigw(sim, 'POST', '/api/v3/find/objectassociation', { condition: {} })).status).toBe(200);
    expect(sim.counters().http429).toBe(1);
    expect(sim.counters().maxPerSecond.search_object_attribute).toBe(6);
  });

  it('ESB has no limiter by default; when configured it answers HTTP 200 with 1306429', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now });
    for (let i = 0; i < 150; i++) expect((await esb(sim, 'find_object_association', { condition: {} })).json.result).toBe(true);
    await sim.close();
    sim = await startSimulator({ clock: clock.now, esbWindows: [{ limit: 3, windowMs: 200 }] });
    for (let i = 0; i < 3; i++) expect((await esb(sim, 'find_object_association', { condition: {} })).json.result).toBe(true);
    const refused = await esb(sim, 'find_object_association', { condition: {} });
    expect(refused.status).toBe(200);
    expect(refused.json).toMatchObject({ result: false, code: 1306429, message: 'Access frequency limit' });
    expect(sim.counters().http429).toBe(1);
  });
});

describe("the gateway's fixed window (windowKind: 'fixed', bk-rate-limit's Redis counter)", () => {
  it('starts at the first request, refuses past the limit until it expires (refused ones count), then starts again', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now, windowKind: 'fixed', feishuWindows: [{ limit: 2, windowMs: 100 }] });
    const token = await feishuToken(sim);
    const q = async () => (await records(sim!, token, 'batch_query', { select: ['_id'], page_size: 1 })).status;
    clock.advance(30); // the window starts with the first request, not on the clock's 100 ms
    expect([await q(), await q()]).toEqual([200, 200]);
    clock.advance(60);
    const refused = await records(sim, token, 'batch_query', { select: ['_id'], page_size: 1 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['x-ogw-ratelimit-reset'])).toBeCloseTo(0.04, 3); // started at 30, now 90
    clock.advance(40); // 130: a new window, started by this request
    expect([await q(), await q(), await q()]).toEqual([200, 200, 429]);
  });

  it('accepts what a sliding log accepts: 2 per 100 ms sent evenly', async () => {
    const clock = manualClock();
    sim = await startSimulator({ clock: clock.now, windowKind: 'fixed', feishuWindows: [{ limit: 2, windowMs: 100 }] });
    const token = await feishuToken(sim);
    for (let i = 0; i < 10; i++) {
      expect((await records(sim, token, 'batch_query', { select: ['_id'], page_size: 1 })).status).toBe(200);
      clock.advance(50);
    }
  });
});
