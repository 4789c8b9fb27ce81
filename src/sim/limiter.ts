/** Rate windows and the seeded PRNG used by the simulator. */

export interface RateWindow { limit: number; windowMs: number }

/**
 * Sliding-log rate limiter: a request is accepted when, for every window, fewer
 * than `limit` accepted requests of the same key arrived in the last `windowMs`.
 * A client that spaces its requests evenly at the ceiling (one every
 * windowMs/limit) is never refused. Refused requests are not recorded, so they
 * do not push the reset time further out.
 */
export class SlidingLimiter {
  private logs = new Map<string, number[]>();
  constructor(readonly windows: RateWindow[]) {}

  /**
   * Records and accepts the request, or refuses it. `resetSec` is how long until
   * a request of this key would be accepted; `limit`/`remaining` describe the
   * tightest window (for X-Bkapi-RateLimit-* headers).
   */
  take(key: string, now: number): { ok: boolean; limit: number; remaining: number; resetSec: number } {
    const longest = Math.max(...this.windows.map((w) => w.windowMs));
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = []));
    let drop = 0;
    while (drop < log.length && log[drop]! <= now - longest) drop++;
    if (drop) log.splice(0, drop);

    let waitMs = 0;
    let tight = { limit: this.windows[0]!.limit, remaining: Infinity };
    for (const w of this.windows) {
      const inWindow = countAfter(log, now - w.windowMs);
      if (inWindow >= w.limit) {
        // The request that must leave the window before one more fits.
        const oldest = log[log.length - w.limit]!;
        waitMs = Math.max(waitMs, oldest + w.windowMs - now);
      }
      const remaining = w.limit - inWindow;
      if (remaining < tight.remaining) tight = { limit: w.limit, remaining };
    }
    if (waitMs > 0) return { ok: false, limit: tight.limit, remaining: 0, resetSec: roundSec(waitMs) };
    log.push(now);
    return { ok: true, limit: tight.limit, remaining: tight.remaining - 1, resetSec: 0 };
  }

  clear(): void {
    this.logs.clear();
  }
}

/**
 * Fixed-window limiter, as the API gateway counts (blueking-apigateway-apisix,
 * src/apisix/plugins/bk-rate-limit/rate-limit-redis.lua): per key and window, the first request after the previous
 * window expired starts a counter of `limit` that lives `windowMs`; every request that arrives meanwhile takes one,
 * refused ones included, and one that finds none left is refused. So the windows are aligned to a request's arrival,
 * not to the clock. A client that never has more than `limit` requests in any interval of `windowMs` is never refused
 * here either (a fixed window is one such interval).
 */
export class FixedLimiter {
  private counters = new Map<string, { until: number; left: number }[]>();
  constructor(readonly windows: RateWindow[]) {}

  /** As SlidingLimiter.take. */
  take(key: string, now: number): { ok: boolean; limit: number; remaining: number; resetSec: number } {
    let cs = this.counters.get(key);
    if (!cs) this.counters.set(key, (cs = this.windows.map(() => ({ until: -Infinity, left: 0 }))));
    let waitMs = 0;
    let tight = { limit: this.windows[0]!.limit, remaining: Infinity };
    this.windows.forEach((w, i) => {
      const c = cs![i]!;
      if (now >= c.until) Object.assign(c, { until: now + w.windowMs, left: w.limit });
      c.left--;
      if (c.left < 0) waitMs = Math.max(waitMs, c.until - now);
      if (c.left < tight.remaining) tight = { limit: w.limit, remaining: Math.max(0, c.left) };
    });
    if (waitMs > 0) return { ok: false, limit: tight.limit, remaining: 0, resetSec: roundSec(waitMs) };
    return { ok: true, limit: tight.limit, remaining: tight.remaining, resetSec: 0 };
  }

  clear(): void {
    this.counters.clear();
  }
}

/** Number of entries of an ascending log that are > t. */
function countAfter(log: number[], t: number): number {
  let lo = 0, hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (log[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return log.length - lo;
}

/** Seconds, rounded up to the millisecond so waiting that long is always enough. */
const roundSec = (ms: number) => Math.ceil(ms) / 1000;

/** Highest number of events in any sliding 1000 ms, per key (counters.maxPerSecond). */
export class PerSecondPeak {
  private logs = new Map<string, number[]>();
  readonly peak: Record<string, number> = {};

  note(key: string, now: number): void {
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = []));
    log.push(now);
    let drop = 0;
    while (log[drop]! <= now - 1000) drop++;
    if (drop) log.splice(0, drop);
    if (log.length > (this.peak[key] ?? 0)) this.peak[key] = log.length;
  }
}

/** mulberry32: small, fast, seedable; the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
