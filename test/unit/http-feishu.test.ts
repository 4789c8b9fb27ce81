import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, CliError, EXIT } from '../../src/core/errors.js';
import { ManualClock } from '../support/manual-clock.js';
import { createHttpClient, type HttpRequest } from '../../src/http/client.js';
import { FeishuApi, feishuService, TenantTokenManager, TOKEN_PATH } from '../../src/http/feishu.js';
import { Throttle } from '../../src/http/limiter.js';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.js';
import { RetriesExhaustedError, Sender } from '../../src/http/sender.js';
import { ProtocolError } from '../../src/http/answer.js';

const ORIGIN = 'https://open.feishu.test';
const APP_SECRET = 'feishu-app-secret-XYZ-0001';
const credentials = { appId: 'cli_a1b2c3', appSecret: APP_SECRET };

type TokenStep = { status?: number; body: unknown; headers?: Record<string, string> };

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function server() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const tokenBodies: any[] = [];
  const token = (steps: TokenStep[]) => {
    for (const s of steps)
      pool.intercept({ path: TOKEN_PATH, method: 'POST' }).reply((o) => {
        tokenBodies.push(JSON.parse(String(o.body)));
        return {
          statusCode: s.status ?? 200,
          data: typeof s.body === 'string' ? s.body : JSON.stringify(s.body),
          responseOptions: { headers: { 'content-type': typeof s.body === 'string' ? 'text/plain' : 'application/json', ...s.headers } },
        };
      });
  };
  return { agent, pool, token, tokenBodies };
}

const ok = (t: string, expire = 7200) => ({ body: { code: 0, msg: 'ok', tenant_access_token: t, expire } });

/** A token manager on the scripted server; its throttle runs on the same clock. */
function tokenManager(s: ReturnType<typeof server>, clock: ManualClock, extra: { policy?: typeof DEFAULT_RETRY_POLICY; throttle?: Throttle } = {}) {
  return new TenantTokenManager({
    client: createHttpClient({ baseUrl: ORIGIN, dispatcher: s.agent }),
    credentials,
    clock,
    throttle: extra.throttle ?? new Throttle({ windowsFor: () => [], clock }),
    policy: extra.policy ?? DEFAULT_RETRY_POLICY,
  });
}

describe('TenantTokenManager', () => {
  it('single flight: 10 concurrent get() share one fetch', async () => {
    const s = server();
    s.token([ok('t-1')]);
    const tokens = tokenManager(s, new ManualClock(0));
    const got = await Promise.all(Array.from({ length: 10 }, () => tokens.get()));
    expect(new Set(got)).toEqual(new Set(['t-1']));
    expect(s.tokenBodies).toEqual([{ app_id: 'cli_a1b2c3', app_secret: APP_SECRET }]);
    // cached: more calls, still one fetch
    for (let i = 0; i < 100; i++) await tokens.get();
    expect(s.tokenBodies).toHaveLength(1);
  });

  it.each([
    // expire (s), renewal time (s): 30 minutes left or half the lifetime, whichever comes first
    [7200, 3600],
    [2400, 600],
    [3600, 1800],
    [60, 30],
    [2, 1],
  ])('a token issued for %i s is renewed after %i s', async (expire, renewS) => {
    const s = server();
    s.token([ok('t-1', expire), ok('t-2', expire)]);
    const clock = new ManualClock(0);
    const tokens = tokenManager(s, clock);
    expect(await tokens.get()).toBe('t-1');
    await clock.advance(renewS * 1000 - 1);
    expect(await tokens.get()).toBe('t-1');
    expect(s.tokenBodies).toHaveLength(1);
    await clock.advance(1);
    expect(await tokens.get()).toBe('t-2');
    expect(s.tokenBodies).toHaveLength(2);
  });

  it('invalidate() drops the token; invalidate(old) after a renewal does not drop the new one', async () => {
    const s = server();
    s.token([ok('t-1'), ok('t-2')]);
    const tokens = tokenManager(s, new ManualClock(0, { auto: true }));
    expect(await tokens.get()).toBe('t-1');
    tokens.invalidate();
    expect(await tokens.get()).toBe('t-2');
    tokens.invalidate('t-1');
    expect(await tokens.get()).toBe('t-2');
    expect(s.tokenBodies).toHaveLength(2);
  });

  it.each([10003, 10014, 10015, 99991543])('bad credentials (code %i) → AuthError naming the settings, never the secret, not retried', async (code) => {
    const s = server();
    s.token([{ body: { code, msg: `invalid app_secret ${APP_SECRET}` } }, ok('never')]);
    const tokens = tokenManager(s, new ManualClock(0, { auto: true }));
    const err = await tokens.get().catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.exitCode).toBe(EXIT.AUTH);
    expect(err.message).toMatch(/FEISHU_APP_ID \/ FEISHU_APP_SECRET/);
    expect(err.message).not.toContain(APP_SECRET);
    expect(s.tokenBodies.length).toBe(1);
  });

  it('retries the token endpoint on 5xx and network errors', async () => {
    const s = server();
    s.token([{ status: 503, body: 'unavailable' }, { status: 500, body: { code: 1500, msg: 'internal' } }]);
    s.pool.intercept({ path: TOKEN_PATH, method: 'POST' }).replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    s.token([ok('t-1')]);
    const tokens = tokenManager(s, new ManualClock(0, { auto: true }));
    expect(await tokens.get()).toBe('t-1');
    expect(s.tokenBodies).toHaveLength(3); // 503, 500, (a reset: not answered) then the token
  });

  it('waits out 429s from the token endpoint for the reset it names, without using up the retries', async () => {
    const s = server();
    const limited = { status: 429, body: { code: 99991400, msg: 'request trigger frequency limit' }, headers: { 'x-ogw-ratelimit-reset': '1.5' } };
    s.token([limited, limited, limited, limited, ok('t-1')]);
    const clock = new ManualClock(0, { auto: true });
    const tokens = tokenManager(s, clock, { policy: { ...DEFAULT_RETRY_POLICY, retries: 1 } });
    expect(await tokens.get()).toBe('t-1');
    expect(clock.now()).toBe(4 * 1500);
    expect(s.tokenBodies).toHaveLength(5);
  });

  it('gives up after the retries: RetriesExhaustedError', async () => {
    const s = server();
    s.token([{ status: 502, body: 'x' }, { status: 502, body: 'x' }, { status: 502, body: 'x' }]);
    const tokens = tokenManager(s, new ManualClock(0, { auto: true }), { policy: { ...DEFAULT_RETRY_POLICY, retries: 2 } });
    const err = await tokens.get().catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err.reachedServer).toBe(true);
  });

  it('a failed renewal keeps the old token while it is still valid', async () => {
    const s = server();
    s.token([ok('t-1'), { status: 502, body: 'x' }, { status: 502, body: 'x' }]);
    const clock = new ManualClock(0, { auto: true });
    const tokens = tokenManager(s, clock, { policy: { ...DEFAULT_RETRY_POLICY, retries: 1 } });
    expect(await tokens.get()).toBe('t-1');
    await clock.advance(3600_000);
    expect(await tokens.get()).toBe('t-1');
  });
});

describe('the token request goes through the same Sender and throttle', () => {
  it('waits out a 429 pause that a records request set for the whole app', async () => {
    const s = server();
    s.token([ok('t-1')]);
    const clock = new ManualClock(0);
    const throttle = new Throttle({ windowsFor: () => [], clock });
    const tokens = tokenManager(s, clock, { throttle });
    throttle.pauseAll(2000, 'feishu batch_update: rate limited');
    let got: string | undefined;
    void tokens.get().then((t) => (got = t));
    await clock.advance(1999);
    expect(s.tokenBodies).toHaveLength(0);
    await clock.advance(1);
    await until(() => got !== undefined);
    expect(got).toBe('t-1');
  });

  it("takes its turn in the token endpoint's own rate window", async () => {
    const s = server();
    s.token([ok('t-1'), ok('t-2')]);
    const clock = new ManualClock(0);
    const throttle = new Throttle({ windowsFor: () => [{ limit: 1, windowMs: 1000 }], clock, marginMs: () => 0 });
    const tokens = tokenManager(s, clock, { throttle });
    expect(await tokens.get()).toBe('t-1');
    tokens.invalidate();
    let got: string | undefined;
    void tokens.get().then((t) => (got = t));
    await clock.advance(999);
    expect(s.tokenBodies).toHaveLength(1);
    await clock.advance(1);
    await until(() => got !== undefined);
    expect(got).toBe('t-2');
  });

  it('an abort stops the token fetch while it backs off, with an AbortError', async () => {
    const s = server();
    s.token([{ status: 502, body: 'x' }, ok('never')]);
    const clock = new ManualClock(0);
    const tokens = tokenManager(s, clock);
    const ac = new AbortController();
    const pending = tokens.get(ac.signal).catch((e) => e);
    await until(() => clock.pending.length > 0); // backing off after the 502
    ac.abort();
    const err = await pending;
    expect(err.name).toBe('AbortError');
    expect(s.tokenBodies).toHaveLength(1);
  });

  it('a token answer without tenant_access_token is a ProtocolError, not retried', async () => {
    const s = server();
    s.token([{ body: { code: 0, msg: 'ok', expire: 7200 } }, ok('never')]);
    const err = await tokenManager(s, new ManualClock(0, { auto: true })).get().catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/data\.tenant_access_token/);
    expect(s.tokenBodies).toHaveLength(1);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error('condition never became true');
}

function connect(setup: (s: ReturnType<typeof server>) => void) {
  const s = server();
  setup(s);
  const clock = new ManualClock(0, { auto: true });
  const client = createHttpClient({ baseUrl: ORIGIN, dispatcher: s.agent });
  const throttle = new Throttle({ windowsFor: () => [], clock });
  const tokens = new TenantTokenManager({ client, credentials, clock, throttle, policy: DEFAULT_RETRY_POLICY });
  const sender = new Sender({ client, service: feishuService({ tokens }), throttle, policy: DEFAULT_RETRY_POLICY, clock });
  return { s, tokens, sender, api: new FeishuApi({ sender }) };
}

describe('FeishuApi.records', () => {
  it.each([
    ['batch_update', 'PATCH'],
    ['batch_create', 'POST'],
    ['batch_delete', 'DELETE'],
    ['batch_query', 'POST'],
  ] as const)('%s: %s on the records path with the bearer token', async (op, method) => {
    const seen: Array<{ method: string; path: string; headers: Record<string, string>; body: unknown }> = [];
    const { api } = connect((s) => {
      s.token([ok('t-1')]);
      s.pool
        .intercept({ path: (p) => p.startsWith('/open-apis/apaas/'), method: () => true })
        .reply((o) => {
          seen.push({ method: o.method, path: o.path, headers: o.headers as Record<string, string>, body: JSON.parse(String(o.body)) });
          return { statusCode: 200, data: { code: 0, msg: 'success', data: { items: [{ success: true, id: '1' }] } } };
        });
    });
    const body = op === 'batch_delete' ? { ids: ['1', '2'] } : { records: JSON.stringify([{ _id: '1', name: 'x' }]) };
    const env = await api.records(op, 'package_ns/1', 'object name', body, { idempotent: op !== 'batch_create' });
    expect(env).toEqual({ ok: true, code: 0, msg: 'success', data: { items: [{ success: true, id: '1' }] }, status: 200 });
    expect(seen[0]).toEqual({
      method,
      path: `/open-apis/apaas/v1/applications/package_ns%2F1/objects/object%20name/records/${op}`,
      headers: expect.objectContaining({ authorization: 'Bearer t-1', 'content-type': 'application/json; charset=utf-8' }),
      body,
    });
  });

  it('batch_query: `items` comes as a JSON string and is read into records; a string that is not JSON is a ProtocolError', async () => {
    const answers = [JSON.stringify([{ _id: '7', serial_no: 'S-7' }]), '[{"_id":'];
    const { api } = connect((s) => {
      s.token([ok('t-1')]);
      s.pool
        .intercept({ path: (p) => p.endsWith('/batch_query'), method: 'POST' })
        .reply(() => ({ statusCode: 200, data: { code: 0, msg: 'ok', data: { items: answers.shift(), has_more: false } } }))
        .persist();
    });
    const env = await api.records('batch_query', 'ns', 'obj', { select: ['_id'] }, { idempotent: true });
    expect(env.ok && env.data.items).toEqual([{ _id: '7', serial_no: 'S-7' }]);
    const err = await api.records('batch_query', 'ns', 'obj', { select: ['_id'] }, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/data\.items: a string that is not JSON/);
  });

  it('99991663 → drop the token, fetch a new one, re-send once', async () => {
    const auth: string[] = [];
    const { api, s } = connect((s) => {
      s.token([ok('t-1'), ok('t-2')]);
      s.pool
        .intercept({ path: (p) => p.startsWith('/open-apis/apaas/'), method: 'PATCH' })
        .reply((o) => {
          const a = (o.headers as Record<string, string>).authorization!;
          auth.push(a);
          return { statusCode: 200, data: a === 'Bearer t-1' ? { code: 99991663, msg: 'token invalid' } : { code: 0, msg: 'ok', data: { items: [] } } };
        })
        .persist();
    });
    const env = await api.records('batch_update', 'ns', 'obj', { records: '[]' }, { idempotent: true });
    expect(env.code).toBe(0);
    expect(auth).toEqual(['Bearer t-1', 'Bearer t-2']);
    expect(s.tokenBodies).toHaveLength(2);
  });

  it('concurrent 99991663 answers cause one renewal, not one per request', async () => {
    const { api, s } = connect((s) => {
      s.token([ok('t-1'), ok('t-2'), ok('t-3'), ok('t-4')]);
      s.pool
        .intercept({ path: (p) => p.startsWith('/open-apis/apaas/'), method: 'PATCH' })
        .reply((o) => ({
          statusCode: 200,
          data: (o.headers as Record<string, string>).authorization === 'Bearer t-1' ? { code: 99991663, msg: 'expired' } : { code: 0, msg: 'ok', data: { items: [] } },
        }))
        .persist();
    });
    const envs = await Promise.all(Array.from({ length: 8 }, () => api.records('batch_update', 'ns', 'obj', { records: '[]' }, { idempotent: true })));
    expect(envs.every((e) => e.code === 0)).toBe(true);
    expect(s.tokenBodies).toHaveLength(2);
  });

  it('renewAuth for a request that carried an already replaced token keeps the new token', async () => {
    const { s, tokens } = connect((x) => x.token([ok('t-1'), ok('t-2')]));
    const service = feishuService({ tokens });
    const sentWith = async () => service.authorize({ op: 'batch_update', method: 'PATCH', path: '/x' });
    const first = await sentWith();
    expect(first.headers!.Authorization).toBe('Bearer t-1');
    service.renewAuth!(first); // the first refusal drops t-1
    expect((await sentWith()).headers!.Authorization).toBe('Bearer t-2');
    service.renewAuth!(first); // a late refusal of a t-1 request: t-2 stays
    expect((await sentWith()).headers!.Authorization).toBe('Bearer t-2');
    expect(s.tokenBodies.length).toBe(2);
  });

  it('a fatal code stops with an AuthError that explains', async () => {
    const { api } = connect((s) => {
      s.token([ok('t-1')]);
      s.pool.intercept({ path: (p) => p.startsWith('/open-apis/apaas/'), method: 'PATCH' }).reply(200, { code: 99991672, msg: 'scope not granted' });
    });
    const err = await api.records('batch_update', 'ns', 'obj', { records: '[]' }, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/app_engine:object\.record:write/);
  });
});

describe('feishuService.classify', () => {
  const unused = { send: () => Promise.reject(new Error('unused')), close: async () => {} };
  const tokens = new TenantTokenManager({ client: unused, credentials, throttle: new Throttle({ windowsFor: () => [] }), policy: DEFAULT_RETRY_POLICY });
  const service = feishuService({ tokens });
  const req: HttpRequest = { op: 'batch_update', method: 'PATCH', path: '/open-apis/apaas/v1/applications/ns/objects/o/records/batch_update' };
  const classify = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    service.classify(
      { status, url: `${ORIGIN}${req.path}`, sentBytes: 0, headers, body: typeof body === 'string' ? undefined : body, text: typeof body === 'string' ? body : JSON.stringify(body) },
      req,
    );

  it.each([
    [429, { code: 99991400, msg: 'too many' }, { 'x-ogw-ratelimit-reset': '0.4' }, 400],
    [400, { code: 99991400, msg: 'too many' }, { 'x-ogw-ratelimit-reset': '12' }, 12_000],
    [429, 'Too Many Requests', {}, undefined],
  ])('HTTP %s %j → rate-limited', (status, body, headers, waitMs) => {
    const v = classify(status, body, headers);
    expect(v).toMatchObject({ kind: 'rate-limited' });
    expect(v.kind === 'rate-limited' && v.waitMs).toBe(waitMs);
  });

  it.each([
    [500, { code: 1500, msg: 'internal' }],
    [200, { code: 1500, msg: 'internal error' }],
    [200, { code: 1663, msg: 'x' }],
    [200, { code: 1668, msg: 'x' }],
    [200, { code: 2200, msg: 'x' }],
    [200, { code: 5000, msg: 'reduce call frequency' }],
    [503, 'Service Unavailable'],
    [200, '{"code":0,"data":{"items":[{"succ'],
  ])('HTTP %s %j → transient', (status, body) => expect(classify(status, body).kind).toBe('transient'));

  it.each([99991661, 99991663, 99991671])('code %i → renew-auth', (code) => expect(classify(200, { code, msg: 'token' }).kind).toBe('renew-auth'));

  it.each([
    [99991672, /scope/],
    [99991676, /permission/],
    [99991662, /disabled/],
    [99991673, /disabled/],
    [99991401, /IP/],
  ])('code %i → fatal AuthError that explains', (code, why) => {
    const v = classify(400, { code, msg: 'no' });
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(AuthError);
    expect(v.error.message).toMatch(why);
  });

  it.each([
    [400, { code: 2320001, msg: 'param is invalid' }],
    [200, { code: 0, msg: 'success', data: { items: [{ success: false, errors: [{ code: 1, message: 'bad' }] }] } }],
    [400, { code: 1254001, msg: 'other' }],
  ])('HTTP %s %j → ok (the operation reads it)', (status, body) => expect(classify(status, body).kind).toBe('ok'));

  it.each([
    [404, 'Not Found'],
    [404, { code: 404, msg: 'page not found' }],
    [200, '<html><head><title>Feishu login</title></head></html>'],
  ])('HTTP %s %j is a configuration error naming FEISHU_URL, not retried', (status, body) => {
    const v = classify(status, body);
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(CliError);
    expect(v.error.exitCode).toBe(EXIT.AUTH);
    expect(`${v.error.message} ${v.error.hint}`).toMatch(/FEISHU_URL/);
  });
});
