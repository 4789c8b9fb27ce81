import { errors, MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, CliError, EXIT } from '../../src/core/errors.js';
import { ManualClock } from '../support/manual-clock.js';
import { createHttpClient, type HttpRequest, type HttpResponse } from '../../src/http/client.js';
import { cmdbService } from '../../src/http/cmdb.js';
import { Throttle } from '../../src/http/limiter.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/http/retry.js';
import { AmbiguousWriteError, RetriesExhaustedError, Sender, type Service, type Verdict } from '../../src/http/sender.js';

const ORIGIN = 'http://cmdb.test';
const SECRET = 'app-secret-value-1234';
const POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY }; // real delays; the ManualClock makes them free
const REQ: HttpRequest = { op: 'batch_create_inst', method: 'POST', path: '/api/c/compapi/v2/cc/batch_create_inst/', body: { bk_obj_id: 'bk_switch', details: [{ a: 1 }] } };

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | { error: Error };

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function econnrefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' });
}

/** A MockAgent that answers the scripted steps in order; `arrivals` holds the clock time of each HTTP answer. */
function scripted(steps: Step[], clock: ManualClock) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const arrivals: number[] = [];
  const bodies: unknown[] = [];
  for (const s of steps) {
    const i = pool.intercept({ path: () => true, method: () => true });
    if ('error' in s) i.replyWithError(s.error);
    else
      i.reply((opts) => {
        arrivals.push(clock.now());
        bodies.push(opts.body ? JSON.parse(String(opts.body)) : undefined);
        return {
          statusCode: s.status,
          data: typeof s.body === 'string' ? s.body : JSON.stringify(s.body ?? { result: true, code: 0, message: 'success', data: {} }),
          responseOptions: { headers: { 'content-type': typeof s.body === 'string' ? 'text/html' : 'application/json', ...s.headers } },
        };
      });
  }
  return { agent, arrivals, bodies, unused: () => agent.pendingInterceptors().length };
}

function setup(steps: Step[], opts: { auto?: boolean; policy?: RetryPolicy; service?: Service } = {}) {
  const clock = new ManualClock(0, { auto: opts.auto ?? true });
  const server = scripted(steps, clock);
  const client = createHttpClient({ baseUrl: ORIGIN, dispatcher: server.agent });
  const throttle = new Throttle({ windowsFor: () => [], clock });
  const service = opts.service ?? cmdbService({ gateway: 'esb', credentials: { appCode: 'app', appSecret: SECRET, username: 'admin' } });
  const sender = new Sender({ client, service, throttle, policy: opts.policy ?? POLICY, clock, random: () => 0 });
  return { clock, server, client, throttle, sender };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error('condition never became true');
}

describe('Sender', () => {
  it('retries 5xx for an idempotent request, with backoff, and counts it', async () => {
    const { server, sender } = setup([{ status: 503, body: 'busy' }, { status: 502, body: 'bad gateway' }, { status: 200 }]);
    const res = await sender.send(REQ, { idempotent: true });
    expect(res.status).toBe(200);
    expect(server.arrivals).toEqual([0, 500, 1500]);
    expect(sender.stats).toEqual({ requests: 3, retries: 2, rateLimited: 0, rateLimitWaitMs: 0 });
  });

  it('throws AmbiguousWriteError for a non-idempotent 5xx, without re-sending', async () => {
    const { server, sender } = setup([{ status: 504, body: { result: false, code: 1650401, message: 'gateway timeout' } }, { status: 200 }]);
    const err = await sender.send(REQ, { idempotent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AmbiguousWriteError);
    expect(err.status).toBe(504);
    expect(server.arrivals.length).toBe(1);
    expect(server.unused()).toBe(1);
  });

  it('throws AmbiguousWriteError for a connection reset after sending (non-idempotent)', async () => {
    const { server, sender } = setup([{ error: new errors.SocketError('other side closed') }, { status: 200 }]);
    const err = await sender.send(REQ, { idempotent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AmbiguousWriteError);
    expect(err.message).toMatch(/UND_ERR_SOCKET/);
    expect(server.unused()).toBe(1);
  });

  it('retries a reset after sending when the request is idempotent', async () => {
    const { sender } = setup([{ error: new errors.SocketError('other side closed') }, { status: 200 }]);
    expect((await sender.send(REQ, { idempotent: true })).status).toBe(200);
    expect(sender.stats.retries).toBe(1);
  });

  it.each([true, false])('retries connection refused (idempotent=%s): it was never sent', async (idempotent) => {
    const { server, sender } = setup([{ error: econnrefused() }, { error: econnrefused() }, { status: 200 }]);
    const res = await sender.send(REQ, { idempotent });
    expect(res.status).toBe(200);
    expect(server.arrivals).toEqual([1500]);
    expect(sender.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('retries a 429 even for a create, waiting the time the reset header gives', async () => {
    const { server, sender } = setup([{ status: 429, headers: { 'x-bkapi-ratelimit-reset': '2.5' }, body: { result: false, code: 1642903, message: 'rate limit' } }, { status: 200 }]);
    const res = await sender.send(REQ, { idempotent: false });
    expect(res.status).toBe(200);
    expect(server.arrivals).toEqual([0, 2500]);
    expect(sender.stats).toEqual({ requests: 2, retries: 0, rateLimited: 1, rateLimitWaitMs: 2500 });
  });

  it('a 429 pauses the shared throttle: a second sender waits too', async () => {
    const clock = new ManualClock(0);
    const server = scripted([{ status: 429, headers: { 'x-bkapi-ratelimit-reset': '2.5' } }, { status: 200 }, { status: 200 }], clock);
    const client = createHttpClient({ baseUrl: ORIGIN, dispatcher: server.agent });
    const waits: number[] = [];
    const throttle = new Throttle({ windowsFor: () => [{ limit: 50, windowMs: 1000 }], clock, onWait: (ms) => waits.push(ms) });
    const service = cmdbService({ gateway: 'esb', credentials: { appCode: 'app', appSecret: SECRET } });
    const a = new Sender({ client, service, throttle, policy: POLICY, clock });
    const b = new Sender({ client, service, throttle, policy: POLICY, clock });

    const pa = a.send(REQ, { idempotent: false });
    await until(() => throttle.pausedUntil === 2500);
    const pb = b.send({ ...REQ, op: 'batch_update_inst' }, { idempotent: true });
    await clock.advance(2499);
    expect(server.arrivals).toEqual([0]); // neither has gone again
    await clock.advance(1);
    await Promise.all([pa, pb]);
    expect(server.arrivals).toEqual([0, 2500, 2500]);
    expect(waits).toEqual([2500]);
    expect(a.stats).toEqual({ requests: 2, retries: 0, rateLimited: 1, rateLimitWaitMs: 2500 });
    expect(b.stats).toEqual({ requests: 1, retries: 0, rateLimited: 0, rateLimitWaitMs: 0 });
  });

  it('uses the default wait when a 429 has no reset header', async () => {
    const { server, sender } = setup([{ status: 200, body: { result: false, code: 1306429, message: 'Access frequency limit' } }, { status: 200 }], {
      policy: { ...POLICY, defaultRateLimitWaitMs: 3000 },
    });
    await sender.send(REQ, { idempotent: false });
    expect(server.arrivals[1]).toBe(3000);
  });

  it('gives up on 429s after rateLimitRetries', async () => {
    const steps: Step[] = Array.from({ length: 4 }, () => ({ status: 429 }));
    const { sender } = setup(steps, { policy: { ...POLICY, rateLimitRetries: 3 } });
    const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err.reachedServer).toBe(true);
    expect(sender.stats.rateLimited).toBe(3);
  });

  it('retries exhausted against a failing server: reachedServer true, status, exit code 5', async () => {
    const { server, sender } = setup([{ status: 500 }, { status: 500 }, { status: 503 }], { policy: { ...POLICY, retries: 2 } });
    const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err.reachedServer).toBe(true);
    expect(err.status).toBe(503);
    expect(err.exitCode).toBe(EXIT.UNREACHABLE);
    expect(server.arrivals.length).toBe(3);
  });

  it('retries exhausted against an unreachable server: reachedServer false', async () => {
    const { sender } = setup([{ error: econnrefused() }, { error: econnrefused() }, { error: econnrefused() }], { policy: { ...POLICY, retries: 2 } });
    const err = await sender.send(REQ, { idempotent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err.reachedServer).toBe(false);
    expect(err.lastError).toMatch(/ECONNREFUSED/);
    expect(sender.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('a certificate error stops at once as a configuration error', async () => {
    const cert = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const { server, sender } = setup([{ error: cert }, { status: 200 }]);
    const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err.exitCode).toBe(EXIT.AUTH);
    expect(server.unused()).toBe(1);
  });

  it('a TLS handshake failure (https to a plain-HTTP port) stops at once, in words', async () => {
    const tls = Object.assign(new Error('808CC93B267F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    const { server, sender } = setup([{ error: tls }, { status: 200 }]);
    const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err.exitCode).toBe(EXIT.AUTH);
    expect(err.message).toMatch(/does not speak TLS/);
    expect(err.message).not.toMatch(/ssl3_get_record|0A00010B/);
    expect(err.hint).toMatch(/http:\/\/ or https:\/\//);
    expect(server.unused()).toBe(1);
    expect(sender.stats.retries).toBe(0);
  });

  it('503 with Retry-After is "come back later": a create waits and is re-sent, never reported unclear', async () => {
    const { server, sender } = setup([{ status: 503, body: '<html>busy</html>', headers: { 'retry-after': '3' } }, { status: 200 }]);
    const res = await sender.send(REQ, { idempotent: false });
    expect(res.status).toBe(200);
    expect(server.arrivals).toEqual([0, 3000]);
    expect(sender.stats).toEqual({ requests: 2, retries: 0, rateLimited: 1, rateLimitWaitMs: 3000 });
  });

  it('503 without Retry-After stays unclear for a create', async () => {
    const { sender } = setup([{ status: 503, body: '<html>busy</html>' }, { status: 200 }]);
    expect(await sender.send(REQ, { idempotent: false }).catch((e) => e)).toBeInstanceOf(AmbiguousWriteError);
  });

  it('a Retry-After longer than maxRetryAfterMs stops the run instead of waiting', async () => {
    const { server, sender } = setup([{ status: 503, body: 'later', headers: { 'retry-after': '7200' } }, { status: 200 }]);
    const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err.message).toMatch(/longer than 300 s/);
    expect(server.unused()).toBe(1);
  });

  describe('with a service that renews tokens', () => {
    function tokenService(): Service & { renewals: number; token: number } {
      const s = {
        name: 'test',
        renewals: 0,
        token: 1,
        secrets: () => [],
        async authorize(req: HttpRequest) {
          return { ...req, headers: { ...req.headers, authorization: `Bearer t-${s.token}` } };
        },
        classify(res: HttpResponse): Verdict {
          const code = (res.body as { code?: number } | undefined)?.code;
          if (code === 99991663) return { kind: 'renew-auth', reason: 'token expired' };
          if (code === 403) return { kind: 'fatal', error: new AuthError('permission denied') };
          return { kind: 'ok' };
        },
        renewAuth() {
          s.renewals++;
          s.token++;
        },
      };
      return s;
    }

    it('renews once and re-sends with the new credentials', async () => {
      const service = tokenService();
      const { server, sender } = setup([{ status: 200, body: { code: 99991663 } }, { status: 200, body: { code: 0 } }], { service });
      const res = await sender.send(REQ, { idempotent: false });
      expect((res.body as { code: number }).code).toBe(0);
      expect(service.renewals).toBe(1);
      expect(server.arrivals.length).toBe(2);
      expect(sender.stats.retries).toBe(1);
    });

    it('a second renew-auth in a row is a fatal AuthError', async () => {
      const service = tokenService();
      const { sender } = setup([{ status: 200, body: { code: 99991663 } }, { status: 200, body: { code: 99991663 } }, { status: 200 }], { service });
      const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.exitCode).toBe(EXIT.AUTH);
      expect(service.renewals).toBe(1);
    });

    it('passes a fatal verdict through unchanged, without retrying', async () => {
      const service = tokenService();
      const { server, sender } = setup([{ status: 200, body: { code: 403 } }, { status: 200 }], { service });
      const err = await sender.send(REQ, { idempotent: true }).catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.message).toBe('permission denied');
      expect(server.unused()).toBe(1);
    });
  });

  it('an abort during backoff rejects promptly with an AbortError and sends nothing more', async () => {
    const { server, sender, clock } = setup([{ status: 503 }, { status: 200 }], { auto: false });
    const ac = new AbortController();
    const p = sender.send(REQ, { idempotent: true, signal: ac.signal }).catch((e) => e);
    await until(() => clock.pending.length === 1); // sleeping in backoff
    ac.abort();
    const err = await p;
    expect(err.name).toBe('AbortError');
    expect(server.arrivals.length).toBe(1);
  });

  it('an abort while the request is on the wire rejects with an AbortError', async () => {
    const clock = new ManualClock(0);
    const agent = new MockAgent();
    agent.disableNetConnect();
    agents.push(agent);
    agent.get(ORIGIN).intercept({ path: () => true, method: 'POST' }).reply(200, {}).delay(60_000);
    const client = createHttpClient({ baseUrl: ORIGIN, dispatcher: agent });
    const sender = new Sender({ client, service: cmdbService({ gateway: 'esb', credentials: { appCode: 'a', appSecret: SECRET } }), throttle: new Throttle({ windowsFor: () => [], clock }), policy: POLICY, clock });
    const ac = new AbortController();
    const p = sender.send(REQ, { idempotent: false, signal: ac.signal }).catch((e) => e);
    await until(() => sender.stats.requests === 1);
    ac.abort();
    const err = await p;
    expect(err.name).toBe('AbortError');
  });

  it('an already aborted signal sends nothing', async () => {
    const { server, sender } = setup([{ status: 200 }]);
    const err = await sender.send(REQ, { idempotent: true, signal: AbortSignal.abort() }).catch((e) => e);
    expect(err.name).toBe('AbortError');
    expect(server.unused()).toBe(1);
  });
});
