/**
 * Client-side rate limiting: a FIFO queue in front of the transport.
 *
 * The servers count requests per app in fixed or sliding windows whose alignment we cannot see
 * (Feishu: 50/s and 1000/min per operation; apigw: 100/s). We keep a sliding log of our own grants per window:
 * the next request may go only when the `limit`-th most recent grant is at least `windowMs + margin` old.
 * Then no interval of length windowMs, however aligned, ever holds more than `limit` of our requests.
 *
 * Send time is not arrival time: requests released together reach the server spread out (client and server
 * serialise them), so two requests `windowMs` apart when sent can arrive closer than that. The request `limit` grants
 * after a *tracked* grant G may go only once G and every request granted before it have finished, and then no
 * sooner than `windowMs + margin` after the earlier of:
 *  - the latest finish among the requests up to G: each of them arrived before its answer came back, so this bound
 *    holds whatever the network does (the rule of earlier versions: one round trip lost per window turn);
 *  - G's send time plus the spread of the round trips seen so far (slowest minus fastest, over the whole run, times
 *    SPREAD_FACTOR; known once `MIN_ROUND_TRIPS` have been sampled). If a request arrived d after it was sent, the
 *    spread of the round trips bounds how much later than the fastest one it can arrive, so the later request still
 *    arrives `windowMs` after every one up to G. With a steady round trip this costs nothing per window turn; an
 *    outlier (a retry, a timeout) widens the spread for the rest of the run, and the first bound takes over.
 * The first window turn is not sampled: it opens the connections, so even its fastest request took a connect longer
 * to arrive than a later one on an open connection (sampled, their spread let a turn arrive too early: 429s at 0 ms
 * latency in test/e2e/rate-latency.test.ts; every request of the next turn refused in test/unit/http-in-flight.test.ts
 * › "the first window turn waits for its answers"). So the first turn costs the server's time after it counted a
 * request: at 150 ms most of what separates a 200-request run from the fastest schedule (docs/decisions.md). Requests
 * up to G in flight hold the turn: one slow to arrive is never overtaken by the count.
 */
import { UsageError } from '../core/errors.js';
import { abortError, realClock, type Clock } from './clock.js';
import type { InFlight } from './in-flight.js';

export interface RateWindow {
  limit: number;
  windowMs: number;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000, sec: 1_000, secs: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
};

const RATE_EXAMPLE = 'e.g. --rate 50/s,1000/min (also 100/s, 20/2s, 600/m, 10/h, or off)';

/** "50/s,1000/min", "100/s", "20/2s", "600/m", "10/h"; "off" / "none" → [] (no limit). */
export function parseRate(text: string): RateWindow[] {
  const src = String(text ?? '').trim().toLowerCase();
  if (src === 'off' || src === 'none') return [];
  if (!src) throw new UsageError(`empty rate; ${RATE_EXAMPLE}`);
  return src.split(',').map((part) => {
    const m = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)$/.exec(part.trim());
    const unit = m ? UNITS[m[3]!] : undefined;
    if (!m || unit === undefined) throw new UsageError(`bad rate "${part.trim()}"; ${RATE_EXAMPLE}`);
    const limit = Number(m[1]);
    const windowMs = Math.round((m[2] === undefined ? 1 : Number(m[2])) * unit);
    if (!(limit > 0) || !Number.isSafeInteger(limit)) throw new UsageError(`bad rate "${part.trim()}": the count must be a positive whole number; ${RATE_EXAMPLE}`);
    if (!(windowMs > 0)) throw new UsageError(`bad rate "${part.trim()}": the window must be longer than 0; ${RATE_EXAMPLE}`);
    return { limit, windowMs };
  });
}

export function formatRate(w: RateWindow[]): string {
  if (!w.length) return 'off';
  return w
    .map(({ limit, windowMs }) => {
      for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) {
        if (windowMs % size === 0) {
          const n = windowMs / size;
          return `${limit}/${n === 1 ? '' : n}${unit}`;
        }
      }
      return `${limit}/${windowMs}ms`;
    })
    .join(',');
}

/**
 * Default safety margin: 1% of the window, at least 5 ms. Network jitter is not its job (see the top of this file);
 * it covers millisecond clocks on both ends and servers whose windows are a little coarser than ours.
 */
export function defaultMarginMs(w: RateWindow): number {
  return Math.max(5, Math.ceil(w.windowMs * 0.01));
}

/** One grant, shared by the logs of all windows: when it was granted, when its request finished (Infinity until then;
 *  an untracked grant at once), and, once it and every grant before it finished, the latest of their finishes. */
interface Grant {
  sent: number;
  finished: number;
  settled?: number;
  tracked: boolean;
  /** Its round trip is part of the spread (not in the first window turn). */
  sampled?: boolean;
}

/**
 * Round trips sampled (and at least one window turn's worth, after the first turn) before a grant may count from its
 * send time. Two turns' worth cost a round trip in each of the first three turns: at 150 ms, a 200-request run at
 * 50/s reached only 0.93 of the fastest schedule with every other loss removed (test/unit/http-in-flight.test.ts).
 */
export const MIN_ROUND_TRIPS = 16;

/**
 * The spread of round trips is scaled by this before use. A request's round trip is its way there (what the rule is
 * about) plus the server's time and the way back, which vary too and can hide part of the first. With the bare spread
 * (8 samples, the first turn sampled), 1 run in 10 had 429s at 0 ms latency and a load of 15 on 2 cores; with 1.5×,
 * 16 samples after the first turn, none in 8 such runs (docs/decisions.md, "Rate limiting").
 */
const SPREAD_FACTOR = 1.5;

/**
 * What the limiter learnt from the tracked requests that finished: the spread of their round trips (grant to finish;
 * over the whole run, so it only grows) and, per grant, the latest finish of the grants up to it.
 */
class Flights {
  private n = 0;
  private min = Infinity;
  private max = -Infinity;
  private granted = 0;
  private settledMax = -Infinity;
  /** Grants not settled yet, in grant order: the oldest is in flight. */
  private readonly unsettled: Grant[] = [];

  /** Grants before `firstSampled` (the first window turn) are not sampled. */
  constructor(private readonly firstSampled: number) {}

  start(g: Grant): void {
    g.sampled = this.granted++ >= this.firstSampled;
    if (!g.tracked) g.finished = g.sent;
    this.unsettled.push(g);
    this.settle();
  }

  end(g: Grant): void {
    if (g.sampled) {
      const ms = g.finished - g.sent;
      this.n++;
      this.min = Math.min(this.min, ms);
      this.max = Math.max(this.max, ms);
    }
    this.settle();
  }

  private settle(): void {
    let k = 0;
    while (k < this.unsettled.length && this.unsettled[k]!.finished !== Infinity) {
      const g = this.unsettled[k++]!;
      this.settledMax = Math.max(this.settledMax, g.finished);
      g.settled = this.settledMax;
    }
    if (k) this.unsettled.splice(0, k);
  }

  /** When G counts from (see the top of this file): Infinity while it or any request granted before it is in flight. */
  countsFrom(g: Grant): number {
    if (!g.tracked) return g.sent;
    if (g.settled === undefined) return Infinity;
    const spread = this.n < Math.max(MIN_ROUND_TRIPS, this.firstSampled) ? Infinity : (this.max - this.min) * SPREAD_FACTOR;
    return Math.min(g.settled, g.sent + spread);
  }
}

/**
 * A request that was waiting for the limiter when the run stopped (the first Ctrl-C): it was never sent, so its rows
 * are reported unsent, safe to send again.
 */
export class NotSentError extends Error {
  constructor(message = 'not sent: the run stopped while the request waited for the rate limiter') {
    super(message);
    this.name = 'NotSentError';
  }
}

/** Calls when the request a tracked grant was for has finished (answer or failure); idempotent. */
export type Release = (opts?: { keepPlace?: boolean }) => void;

/** Options of an acquire: `tracked` (see RateLimiter.acquire); `place` among the requests in flight: `take` one
 *  (the default), `carried` — the caller holds one already (a retry, kept through its backoff: sender.ts), or `none`
 *  (the token fetch, which every request may need before it can go: it never waits for room). */
export interface AcquireOptions {
  tracked?: boolean;
  place?: 'take' | 'carried' | 'none';
}

/**
 * Grants of one window: a ring of the last `limit` grants, in grant order. Tracked requests may finish out of
 * order; Flights.countsFrom makes the next grant wait for every request up to the one it checks.
 */
class SlidingLog {
  private readonly grants: Grant[] = [];
  private next = 0; // ring position of the oldest entry once full
  constructor(
    readonly limit: number,
    readonly spanMs: number, // windowMs + margin
  ) {}
  /** Earliest time the next grant may happen (Infinity while a request it depends on is in flight). */
  earliest(flights: Flights): number {
    if (this.grants.length < this.limit) return -Infinity;
    return flights.countsFrom(this.grants[this.next]!) + this.spanMs;
  }
  record(g: Grant): void {
    if (this.grants.length < this.limit) this.grants.push(g);
    else {
      this.grants[this.next] = g;
      this.next = (this.next + 1) % this.limit;
    }
  }
}

/** Longest single sleep of the pump; it re-checks after that (and whenever a tracked request finishes). */
const MAX_PUMP_SLEEP_MS = 60_000;

interface Waiter {
  tracked: boolean;
  place: 'take' | 'carried' | 'none';
  resolve: (release: Release) => void;
  reject: (e: unknown) => void;
  done: boolean;
}

/**
 * Enforces several windows at once, FIFO: callers get slots in call order.
 * `gate` (optional) is the earliest time anything may go at all (the Throttle's shared 429 pause).
 */
export class RateLimiter {
  private readonly logs: SlidingLog[];
  private readonly clock: Clock;
  private readonly gate: () => number;
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private pumpSleep?: AbortController;
  private readonly onWait?: (ms: number) => void;
  private readonly flights: Flights;
  private readonly inFlight?: InFlight;

  constructor(
    readonly windows: RateWindow[],
    opts: {
      clock?: Clock;
      marginMs?: (w: RateWindow) => number;
      gate?: () => number;
      /** Called when the next request must wait for this limiter's windows (not for the gate), with how long. */
      onWait?: (ms: number) => void;
      /** The server's requests in flight: a tracked request is granted only when there is room (in-flight.ts). */
      inFlight?: InFlight;
    } = {},
  ) {
    const margin = opts.marginMs ?? defaultMarginMs;
    this.logs = windows.map((w) => new SlidingLog(w.limit, w.windowMs + Math.max(0, margin(w))));
    this.flights = new Flights(Math.min(...windows.map((w) => w.limit)));
    this.clock = opts.clock ?? realClock;
    this.gate = opts.gate ?? (() => -Infinity);
    this.onWait = opts.onWait;
    this.inFlight = opts.inFlight;
    this.inFlight?.onFree(() => this.pumpSleep?.abort());
  }

  /**
   * Resolves when one request may be sent now (and records it). With `tracked`, call the returned Release when
   * the request has finished: until then its slot counts as in use (see the top of this file). Untracked grants
   * count from the grant time and their Release does nothing.
   */
  acquire(signal?: AbortSignal, opts: AcquireOptions = {}): Promise<Release> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = { tracked: !!opts.tracked, place: opts.place ?? 'take', resolve, reject, done: false };
      if (signal) {
        const onAbort = () => {
          if (w.done) return;
          w.done = true;
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          // Nobody left: stop the pump's timer so an aborted run does not hold the process open.
          if (!this.queue.length) this.pumpSleep?.abort();
          reject(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.resolve = (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        };
        w.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      this.enqueue(w);
      void this.pump();
    });
  }

  /**
   * A waiter that brings its place (a retry, which kept it through its backoff) or needs none goes ahead of those that
   * must take one: behind them it would wait for a place that only it can free, and with every place held by a retry
   * the run would stop moving.
   */
  private enqueue(w: Waiter): void {
    const i = w.place === 'take' ? -1 : this.queue.findIndex((x) => x.place === 'take');
    if (i < 0) this.queue.push(w);
    else this.queue.splice(i, 0, w);
  }

  /** Rejects every request waiting now with a NotSentError (the run stops; those in flight finish). */
  cancelWaiting(): void {
    for (const w of this.queue.splice(0)) {
      if (w.done) continue;
      w.done = true;
      w.reject(new NotSentError());
    }
    this.pumpSleep?.abort();
  }

  /** Milliseconds until the next request may go (0 = now). */
  waitMs(now = this.clock.now()): number {
    let at = this.gate();
    for (const log of this.logs) at = Math.max(at, log.earliest(this.flights));
    return Math.max(0, at - now);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length) {
        const now = this.clock.now();
        // No room on the wire: wait for a request to finish (it wakes the pump) before looking at the windows, so a
        // request waiting here holds no place in flight, and one granted goes at once.
        const head = this.queue[0]!;
        const full = head.tracked && head.place === 'take' && this.inFlight && !this.inFlight.hasRoom();
        const wait = full ? MAX_PUMP_SLEEP_MS : this.waitMs(now);
        if (wait > 0) {
          // Our own windows hold the run (the progress bar says so); a wait for an unfinished request is not timed.
          let own = -Infinity;
          for (const log of this.logs) own = Math.max(own, log.earliest(this.flights));
          if (this.onWait && !full && own - now >= wait && own !== Infinity) this.onWait(wait);
          this.pumpSleep = new AbortController();
          try {
            await this.clock.sleep(Math.min(wait, MAX_PUMP_SLEEP_MS), this.pumpSleep.signal);
          } catch {
            // woken early: every waiter left, or a tracked request finished; the loop re-checks
          }
          continue;
        }
        const w = this.queue.shift()!;
        if (w.done) continue;
        w.done = true;
        const grant: Grant = { sent: now, finished: Infinity, tracked: w.tracked };
        this.flights.start(grant);
        if (w.tracked && w.place === 'take') this.inFlight?.start();
        for (const log of this.logs) log.record(grant);
        const holds = w.place !== 'none';
        w.resolve(w.tracked ? (o) => this.finish(grant, holds && !o?.keepPlace) : () => {});
      }
    } finally {
      this.pumping = false;
      this.pumpSleep = undefined;
    }
  }

  /** The request of a tracked grant finished; `freePlace`: its place in flight is free (not kept for a retry, and it
   *  held one). */
  private finish(grant: Grant, freePlace: boolean): void {
    if (grant.finished !== Infinity) return;
    grant.finished = this.clock.now();
    this.flights.end(grant);
    this.pumpSleep?.abort(); // a waiter may depend on this grant
    if (freePlace) this.inFlight?.end(grant.finished - grant.sent); // wakes every limiter of the server waiting for room
    else this.inFlight?.sample(grant.finished - grant.sent);
  }
}

/** One per server (CMDB, Feishu): a limiter per operation + one shared pause that a 429 sets for everyone. */
export class Throttle {
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly windowsFor: (op: string) => RateWindow[];
  private readonly clock: Clock;
  private readonly onWait?: (ms: number, reason: string) => void;
  private readonly marginMs?: (w: RateWindow) => number;
  private until = -Infinity;
  /** The server's requests in flight (one place per request, whatever its operation). */
  readonly inFlight?: InFlight;

  constructor(opts: {
    windowsFor: (op: string) => RateWindow[];
    clock?: Clock;
    /** Called when the shared pause begins or is extended, with how long everyone now waits and why; and with
     *  reason 'rate limit' when a request waits for its operation's windows. */
    onWait?: (ms: number, reason: string) => void;
    marginMs?: (w: RateWindow) => number;
    inFlight?: InFlight;
  }) {
    this.windowsFor = opts.windowsFor;
    this.inFlight = opts.inFlight;
    this.clock = opts.clock ?? realClock;
    this.onWait = opts.onWait;
    this.marginMs = opts.marginMs;
  }

  get pausedUntil(): number {
    return this.until;
  }

  /** Waits for the shared pause, then for the op's limiter. The limiter itself honours the pause (gate), so
   *  requests queued before a 429 are not released in a burst when it ends. */
  acquire(op: string, signal?: AbortSignal, opts: AcquireOptions = {}): Promise<Release> {
    return this.limiter(op).acquire(signal, opts);
  }

  /** The run stops: every request waiting for a limiter of this server is rejected, unsent (NotSentError). */
  cancelWaiting(): void {
    for (const l of this.limiters.values()) l.cancelWaiting();
  }

  /** Extends the shared pause to now+ms (never shortens it). */
  pauseAll(ms: number, reason: string): void {
    const until = this.clock.now() + Math.max(0, ms);
    if (until <= this.until) return;
    this.until = until;
    this.onWait?.(Math.max(0, ms), reason);
  }

  limiter(op: string): RateLimiter {
    let l = this.limiters.get(op);
    if (!l) {
      l = new RateLimiter(this.windowsFor(op), {
        clock: this.clock,
        marginMs: this.marginMs,
        gate: () => this.until,
        onWait: (ms) => this.onWait?.(ms, 'rate limit'),
        inFlight: this.inFlight,
      });
      this.limiters.set(op, l);
    }
    return l;
  }
}
