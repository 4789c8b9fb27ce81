/**
 * Requests in flight (src/http/in-flight.ts): a place on the wire is taken when the limiter grants a request, not while
 * it waits; the number in flight grows to what the rate × the round trip need; --concurrency sets it instead; without a rate
 * limit it stays at a fixed bound. All on the ManualClock: simulated time, nothing here depends on the machine.
 */
import { describe, expect, it } from 'vitest';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/http/client.js';
import { AUTO_MAX, InFlight, START, UNLIMITED } from '../../src/http/in-flight.js';
import { NotSentError, Throttle, type RateWindow } from '../../src/http/limiter.js';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.js';
import { Sender, type Service } from '../../src/http/sender.js';
import { FixedLimiter, SlidingLimiter, mulberry32 } from '../../src/sim/limiter.js';
import { ManualClock } from '../support/manual-clock.js';

const FEISHU: RateWindow[] = [
  { limit: 50, windowMs: 1000 },
  { limit: 1000, windowMs: 60_000 },
];

/** Every request answered `rttMs` after it was sent; counts the requests on the wire at once. */
function slowServer(clock: ManualClock, rttMs: number) {
  let now = 0;
  const s = { most: 0, sent: [] as number[], payloads: 0 };
  const client: HttpClient = {
    async send(req: HttpRequest): Promise<HttpResponse> {
      s.sent.push(clock.now());
      if (typeof req.payload === 'string') s.payloads++;
      s.most = Math.max(s.most, ++now);
      await clock.sleep(rttMs);
      now--;
      return { status: 200, url: 'http://x', sentBytes: 0, headers: {}, body: {}, text: '{}' };
    },
    close: async () => undefined,
  } as HttpClient;
  return { client, s };
}

const okService: Service = {
  name: 'test',
  authorize: async (req) => req,
  classify: () => ({ kind: 'ok' }),
  secrets: () => [],
};

/** `n` requests through a Sender with the windows and --concurrency given, against a server answering in `rttMs`. */
async function sendAll(opts: { n: number; rttMs: number; windows: RateWindow[]; explicit?: number; body?: () => unknown; clock?: ManualClock }) {
  const clock = opts.clock ?? new ManualClock(0, { auto: true });
  const server = slowServer(clock, opts.rttMs);
  const inFlight = new InFlight(opts.windows, opts.explicit);
  const throttle = new Throttle({ windowsFor: () => opts.windows, clock, inFlight });
  const sender = new Sender({ client: server.client, service: okService, throttle, policy: DEFAULT_RETRY_POLICY, clock });
  const req = (): HttpRequest => ({ op: 'batch_update', method: 'POST', path: '/x', body: opts.body?.() ?? { records: [1, 2, 3] } });
  await Promise.all(Array.from({ length: opts.n }, () => sender.send(req(), { idempotent: true })));
  return { ...server.s, inFlight, clock };
}

/** When the windows let request number times.length go, after the requests at `times` (as scripts/bench.mjs). */
function nextAllowed(times: number[], windows: RateWindow[]): number {
  const n = times.length;
  let at = n ? times[n - 1]! : 0;
  for (const w of windows) if (n >= w.limit) at = Math.max(at, times[n - w.limit]! + w.windowMs);
  return at;
}

/** The fastest schedule: each request at the earliest moment every window allows. */
function fastest(n: number, windows: RateWindow[]): number[] {
  const t: number[] = [];
  for (let i = 0; i < n; i++) t.push(nextAllowed(t, windows));
  return t;
}

describe('requests in flight', () => {
  it('a request waiting for the windows holds no place: the places are free for a request the windows let go', async () => {
    const clock = new ManualClock(0);
    const windows = [{ limit: 2, windowMs: 1000 }];
    const inFlight = new InFlight(windows, 2);
    const throttle = new Throttle({ windowsFor: () => windows, clock, inFlight, marginMs: () => 0 });
    const a = await throttle.acquire('update', undefined, { tracked: true });
    const b = await throttle.acquire('update', undefined, { tracked: true });
    await clock.advance(10);
    a();
    b();
    // Two more updates: the window holds them until 1010. Meanwhile no place is taken...
    const granted: string[] = [];
    for (const name of ['c', 'd']) void throttle.acquire('update', undefined, { tracked: true }).then(() => granted.push(name));
    await clock.advance(500);
    expect(granted).toEqual([]);
    expect(inFlight.count).toBe(0);
    // ...so a request of another operation (its own windows) goes at once, and both places are free for it.
    const other = await throttle.acquire('token', undefined, { tracked: true });
    expect(inFlight.count).toBe(1);
    other();
    await clock.advance(510);
    expect(granted).toEqual(['c', 'd']);
    expect(inFlight.count).toBe(2);
  });

  it('when the run stops, the requests waiting for the windows give up unsent; those in flight finish', async () => {
    const clock = new ManualClock(0);
    const windows = [{ limit: 1, windowMs: 1000 }];
    const throttle = new Throttle({ windowsFor: () => windows, clock, inFlight: new InFlight(windows) });
    const update = await throttle.acquire('update', undefined, { tracked: true });
    const create = await throttle.acquire('create', undefined, { tracked: true });
    const waiting = [throttle.acquire('update', undefined, { tracked: true }), throttle.acquire('create', undefined, { tracked: true })];
    await clock.advance(10);
    throttle.cancelWaiting();
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(NotSentError);
    // the ones on the wire finish as usual
    update();
    create();
    // A request asked after the stop (a reconcile of an unclear answer) is not refused.
    await clock.advance(2000);
    await expect(throttle.acquire('update', undefined, { tracked: true })).resolves.toBeTypeOf('function');
  });

  it('a granted request takes a place; with every place taken, the next waits for a request to finish', async () => {
    const clock = new ManualClock(0);
    const inFlight = new InFlight([], 2);
    const throttle = new Throttle({ windowsFor: () => [], clock, inFlight });
    const a = await throttle.acquire('x', undefined, { tracked: true });
    await throttle.acquire('x', undefined, { tracked: true });
    let third = false;
    void throttle.acquire('x', undefined, { tracked: true }).then(() => (third = true));
    await clock.advance(100);
    expect(third).toBe(false);
    a();
    await clock.advance(0);
    expect(third).toBe(true);
    expect(inFlight.count).toBe(2);
  });

  it('grows to rate × round trip: 50/s at 150 ms reaches the fastest schedule the windows allow (≥ 95%)', async () => {
    const n = 200;
    const r = await sendAll({ n, rttMs: 150, windows: FEISHU });
    // 50/s × 150 ms = 7.5 requests needed on the wire; the old fixed 4 made it 4 ÷ 150 ms = 27/s.
    expect(r.most).toBeGreaterThanOrEqual(8);
    expect(r.inFlight.cap()).toBeGreaterThanOrEqual(8);
    expect(r.inFlight.cap()).toBeLessThanOrEqual(16);
    // The benchmark's measure: requests ÷ the time until the windows would let the next one go, against the same
    // for the fastest schedule (a run that ends in a burst is not flattered).
    const rel = r.sent.map((t) => t - r.sent[0]!);
    expect(nextAllowed(fastest(n, FEISHU), FEISHU) / nextAllowed(rel, FEISHU)).toBeGreaterThanOrEqual(0.95);
    // Every request was serialised before it was sent (while it waited for the limiter).
    expect(r.payloads).toBe(n);
  });

  it('--concurrency sets it: a cap below the sizing holds, and one above it lets a window\'s burst go at once', async () => {
    const r = await sendAll({ n: 120, rttMs: 150, windows: FEISHU, explicit: 3 });
    expect(r.most).toBe(3);
    expect(r.inFlight.cap()).toBe(3);
    const wide = await sendAll({ n: 120, rttMs: 150, windows: FEISHU, explicit: 40 });
    expect(wide.most).toBe(40);
  });

  it('without a rate limit it stays at a fixed bound, however slow the round trips', async () => {
    const r = await sendAll({ n: 100, rttMs: 2000, windows: [] });
    expect(r.most).toBe(UNLIMITED);
    expect(r.inFlight.cap()).toBe(UNLIMITED);
    expect(r.inFlight.max).toBe(UNLIMITED);
    // --concurrency still sets it
    expect((await sendAll({ n: 40, rttMs: 2000, windows: [], explicit: 10 })).most).toBe(10);
  });

  it('never above AUTO_MAX nor what the windows let go in one round trip', () => {
    const big = new InFlight([{ limit: 1000, windowMs: 1000 }]);
    for (let i = 0; i < 40; i++) big.start();
    for (let i = 0; i < 40; i++) big.end(5_000);
    expect(big.cap()).toBe(AUTO_MAX);
    const small = new InFlight([{ limit: 6, windowMs: 1000 }]);
    for (let i = 0; i < 40; i++) small.start();
    for (let i = 0; i < 40; i++) small.end(900);
    expect(small.cap()).toBe(6); // 6 a second × 0.9 s × 1.5 + 1 = 10, but no more than 6 go in a round trip
    const tiny = new InFlight([{ limit: 2, windowMs: 1000 }]);
    tiny.start();
    tiny.end(900);
    expect(tiny.cap()).toBe(2);
  });

  it('serialises a request body before the wait for the rate limiter, not after the grant', async () => {
    const serialised: number[] = [];
    const clock = new ManualClock(0, { auto: true });
    const r = await sendAll({
      n: 6,
      rttMs: 10,
      windows: [{ limit: 2, windowMs: 1000 }],
      clock,
      body: () => ({ toJSON: () => (serialised.push(clock.now()), { a: 1 }) }),
    });
    // The 5th and 6th requests waited two window turns (> 2 s); all six bodies were serialised at time 0.
    expect(r.sent.at(-1)!).toBeGreaterThan(2000);
    expect(serialised).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

/**
 * A server that counts a request in its windows when it *arrives* — after its way there (noise, and a connect when no
 * connection was free) — with the simulator's sliding log or the gateway's fixed window (src/sim/limiter.ts), and
 * answers after its latency, jitter and way back. Counts the requests its windows refused.
 */
function arrivalServer(clock: ManualClock, o: { kind: 'sliding' | 'fixed'; windows: RateWindow[]; latencyMs: number; jitterMs: number; noiseMs: number; connectMs: number; seed: number }) {
  const random = mulberry32(o.seed);
  const windows = o.kind === 'fixed' ? new FixedLimiter(o.windows) : new SlidingLimiter(o.windows);
  const s = { sent: [] as number[], refused: 0 };
  let open = 0;
  let busy = 0;
  const client = {
    async send(): Promise<HttpResponse> {
      s.sent.push(clock.now());
      const connect = busy++ < open ? 0 : (open++, o.connectMs);
      await clock.sleep(connect + random() * o.noiseMs);
      if (!windows.take('app|batch_update', clock.now()).ok) s.refused++;
      await clock.sleep(o.latencyMs + random() * o.jitterMs + random() * o.noiseMs);
      busy--;
      return { status: 200, url: 'http://x', sentBytes: 0, headers: {}, body: {}, text: '{}' };
    },
    close: async () => undefined,
  } as unknown as HttpClient;
  return { client, s };
}

/** `n` requests with default options (or `--concurrency explicit`) against an arrivalServer; the benchmark's ratio to
 *  the fastest schedule. */
async function sendCounted(n: number, o: Parameters<typeof arrivalServer>[1] & { explicit?: number }) {
  const clock = new ManualClock(0, { auto: true });
  const server = arrivalServer(clock, o);
  const inFlight = new InFlight(o.windows, o.explicit);
  const throttle = new Throttle({ windowsFor: () => o.windows, clock, inFlight });
  const sender = new Sender({ client: server.client, service: okService, throttle, policy: DEFAULT_RETRY_POLICY, clock });
  const req = (): HttpRequest => ({ op: 'batch_update', method: 'POST', path: '/x', body: {} });
  await Promise.all(Array.from({ length: n }, () => sender.send(req(), { idempotent: true })));
  const rel = server.s.sent.map((t) => t - server.s.sent[0]!);
  return { refused: server.s.refused, ratio: nextAllowed(fastest(n, o.windows), o.windows) / nextAllowed(rel, o.windows) };
}

describe('counted where the server counts: on arrival', () => {
  // 150 ms latency plus up to 50 ms of jitter after arrival, up to 10 ms of noise each way, 2 ms to connect. 200
  // requests reach 0.91 here, short of 0.95 (docs/performance.md, issue 16 §1, "this session"): not asserted.
  it.each([
    [2000, 'sliding'],
    [2000, 'fixed'],
  ] as const)('%i requests at 150 ms with jitter, default options: ≥ 0.95 of the fastest schedule, none refused (%s window)', async (n, kind) => {
    const r = await sendCounted(n, { kind, windows: FEISHU, latencyMs: 150, jitterMs: 50, noiseMs: 10, connectMs: 2, seed: n });
    expect(r.refused).toBe(0);
    expect(r.ratio).toBeGreaterThanOrEqual(0.95);
  });

  // Why the first window turn is counted from the answers (src/http/limiter.ts, top comment), and so costs a round trip: a
  // first window sent at once opens a connection for every request, so their round trips are alike (no spread) while
  // each of them arrived a connect later than a request on an open connection will. Counted from their send times
  // plus that spread, the next turn arrives a connect too early (fails with the first turn sampled: 20 refused).
  it('the first window turn waits for its answers: its requests all opened a connection, so their spread says nothing', async () => {
    for (const kind of ['sliding', 'fixed'] as const) {
      const r = await sendCounted(60, { kind, windows: [{ limit: 20, windowMs: 400 }], latencyMs: 150, jitterMs: 0, noiseMs: 0, connectMs: 40, seed: 1, explicit: 20 });
      expect({ kind, refused: r.refused }).toEqual({ kind, refused: 0 });
    }
  });

  // Each seed a different draw of the legs; the noise on the way there is what a turn counted too early would show.
  it.each([
    [0, 20],
    [30, 30],
    [150, 100],
    [400, 250],
  ])('at %i ms latency with %i ms jitter, none refused by a sliding or a fixed window (5 seeds each)', async (latencyMs, jitterMs) => {
    for (const kind of ['sliding', 'fixed'] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        const windows = seed % 2 ? FEISHU : [{ limit: 20, windowMs: 400 }];
        const r = await sendCounted(120, { kind, windows, latencyMs, jitterMs, noiseMs: 20, connectMs: 30, seed });
        expect({ kind, seed, refused: r.refused }).toEqual({ kind, seed, refused: 0 });
      }
    }
  }, 60_000);
});

describe('retries keep their place without blocking', () => {
  it('requests retried after a 5xx go ahead of new requests waiting for a place (else every place is held by a retry queued behind them)', async () => {
    const clock = new ManualClock(0, { auto: true });
    let calls = 0;
    // The first 4 requests (every place at the start) get a 503 once; then every request is answered.
    const client: HttpClient = {
      async send(): Promise<HttpResponse> {
        const n = ++calls;
        await clock.sleep(50);
        return n <= 4
          ? { status: 503, url: 'http://x', sentBytes: 0, headers: {}, body: {}, text: '' }
          : { status: 200, url: 'http://x', sentBytes: 0, headers: {}, body: {}, text: '{}' };
      },
      close: async () => undefined,
    } as HttpClient;
    const service: Service = { ...okService, classify: (res) => (res.status === 503 ? { kind: 'transient', reason: '503' } : { kind: 'ok' }) };
    const inFlight = new InFlight(FEISHU, 4); // --concurrency 4: the places do not grow
    const throttle = new Throttle({ windowsFor: () => FEISHU, clock, inFlight });
    const sender = new Sender({ client, service, throttle, policy: { ...DEFAULT_RETRY_POLICY, baseMs: 10 }, clock });
    const req = (): HttpRequest => ({ op: 'batch_update', method: 'POST', path: '/x', body: {} });
    const all = Promise.all(Array.from({ length: 12 }, () => sender.send(req(), { idempotent: true })));
    const outcome = await Promise.race([all.then(() => 'done'), clock.sleep(120_000).then(() => 'stuck')]);
    expect(outcome).toBe('done');
    expect(calls).toBe(16);
    expect(inFlight.count).toBe(0);
  });
});
