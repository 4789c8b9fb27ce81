import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { ManualClock } from '../support/manual-clock.js';
import { formatRate, parseRate, RateLimiter, Throttle, type RateWindow } from '../../src/http/limiter.js';

/** Largest number of grants inside any half-open interval [t, t + windowMs). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** A small deterministic PRNG so the "random arrivals" test is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function drain(clock: ManualClock, done: () => boolean, stepMs = 10, maxSteps = 100_000): Promise<void> {
  for (let i = 0; i < maxSteps && !done(); i++) await clock.advance(stepMs);
  if (!done()) throw new Error('did not finish');
}

describe('parseRate / formatRate', () => {
  it.each([
    ['50/s,1000/min', [{ limit: 50, windowMs: 1000 }, { limit: 1000, windowMs: 60_000 }]],
    ['100/s', [{ limit: 100, windowMs: 1000 }]],
    ['20/2s', [{ limit: 20, windowMs: 2000 }]],
    ['600/m', [{ limit: 600, windowMs: 60_000 }]],
    ['10/h', [{ limit: 10, windowMs: 3_600_000 }]],
    ['5/100ms', [{ limit: 5, windowMs: 100 }]],
    [' 50 / s , 1000/minute ', [{ limit: 50, windowMs: 1000 }, { limit: 1000, windowMs: 60_000 }]],
    ['off', []],
    ['none', []],
  ])('accepts %j', (text, expected) => {
    expect(parseRate(text)).toEqual(expected);
  });

  it.each(['', '50', '50/', '/s', '0/s', '-1/s', '1.5/s', '50/fortnight', '50/0s', '50/s,', 'fast'])('rejects %j with an example', (text) => {
    expect(() => parseRate(text)).toThrow(UsageError);
    expect(() => parseRate(text)).toThrow(/e\.g\. --rate 50\/s,1000\/min/);
  });

  it('formats back to text that parses to the same windows', () => {
    for (const t of ['50/s,1000/min', '20/2s', '10/h', '5/100ms', 'off']) {
      const w = parseRate(t);
      expect(parseRate(formatRate(w))).toEqual(w);
    }
    expect(formatRate(parseRate('50/s,1000/min'))).toBe('50/s,1000/min');
  });
});

describe('RateLimiter', () => {
  const windows: RateWindow[] = [
    { limit: 5, windowMs: 100 },
    { limit: 12, windowMs: 1000 },
  ];

  it('never exceeds any window in any sliding interval, and reaches >= 95% of the binding rate', async () => {
    const clock = new ManualClock(1_000_000);
    const limiter = new RateLimiter(windows, { clock });
    const times: number[] = [];
    const n = 240;
    for (let i = 0; i < n; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await drain(clock, () => times.length === n);

    expect(maxInAnyWindow(times, 100)).toBeLessThanOrEqual(5);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(12);
    // Binding window: 12/1000ms. After the first full window, grants arrive at (almost) that rate.
    const span = times[n - 1]! - times[0]!;
    const achieved = (n - 12) / span; // grants per ms beyond the first burst
    expect(achieved / (12 / 1000)).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps every window with requests arriving at random times', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(windows, { clock });
    const rnd = prng(42);
    const times: number[] = [];
    let asked = 0;
    for (let step = 0; step < 3000; step++) {
      const k = Math.floor(rnd() * 3); // 0..2 new callers this millisecond-ish step
      for (let i = 0; i < k; i++, asked++) void limiter.acquire().then(() => times.push(clock.now()));
      await clock.advance(1 + Math.floor(rnd() * 7));
    }
    await drain(clock, () => times.length === asked);
    expect(asked).toBeGreaterThan(1000);
    expect(maxInAnyWindow(times, 100)).toBeLessThanOrEqual(5);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(12);
  });

  it('keeps the safety margin: the 13th grant is at least 1000 + 10 ms (1%) after the first', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 12, windowMs: 1000 }], { clock });
    const times: number[] = [];
    for (let i = 0; i < 13; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await drain(clock, () => times.length === 13, 1);
    expect(times.slice(0, 12).every((t) => t === 0)).toBe(true);
    expect(times[12]).toBe(1010);
  });

  it('is FIFO, and an aborted waiter leaves without disturbing the order', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 1, windowMs: 100 }], { clock, marginMs: () => 0 });
    const order: number[] = [];
    const ac = new AbortController();
    const results: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const p = limiter.acquire(i === 4 ? ac.signal : undefined).then(() => order.push(i));
      results.push(p.catch((e) => e));
    }
    await clock.advance(150);
    ac.abort();
    await drain(clock, () => order.length === 9);
    expect(order).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    const aborted = await results[4];
    expect(aborted).toBeInstanceOf(Error);
    expect((aborted as Error).name).toBe('AbortError');
    expect(clock.now()).toBeLessThan(1000); // one per 100 ms: nine grants in ~800 ms
  });

  it('stops its timer when every waiter aborted', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 1, windowMs: 60_000 }], { clock });
    await limiter.acquire();
    const ac = new AbortController();
    const p = limiter.acquire(ac.signal).catch((e: Error) => e.name);
    await clock.advance(1);
    expect(clock.pending.length).toBe(1);
    ac.abort();
    expect(await p).toBe('AbortError');
    await clock.advance(1);
    expect(clock.pending.length).toBe(0);
  });

  it('a tracked grant counts from when its request finished, and holds its slot while in flight', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 2, windowMs: 100 }], { clock, marginMs: () => 0 });
    const a = await limiter.acquire(undefined, { tracked: true });
    const b = await limiter.acquire(undefined, { tracked: true });
    const times: number[] = [];
    void limiter.acquire(undefined, { tracked: true }).then(() => times.push(clock.now()));
    void limiter.acquire().then(() => times.push(clock.now()));
    await clock.advance(150);
    expect(times).toEqual([]); // a and b are still in flight: they may not even have arrived yet
    b(); // b finishes first (at 150): the third grant still waits for a, the older one
    await clock.advance(30);
    expect(times).toEqual([]);
    a(); // at 180
    a(); // a second call changes nothing
    await clock.advance(99);
    expect(times).toEqual([]);
    await clock.advance(1);
    // 280 = a finished + 100; the fourth waited for b (150 + 100) and for the third's grant (FIFO)
    expect(times).toEqual([280, 280]);
  });

  it('once enough round trips were seen, a turn counts from the send time plus the spread, not from the answer', async () => {
    // 2 per 100 ms, every request answered 50 ms after it was sent (spread 0): the first turns wait for the answers
    // (150 ms apart), later ones only for the window (100 ms apart)
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 2, windowMs: 100 }], { clock, marginMs: () => 0 });
    const times: number[] = [];
    let done = 0;
    for (let i = 0; i < 60; i++) {
      void limiter.acquire(undefined, { tracked: true }).then(async (release) => {
        times.push(clock.now());
        await clock.sleep(50);
        release();
        done++;
      });
    }
    await drain(clock, () => done === 60, 1, 1_000_000);
    const turns = times.filter((_, i) => i % 2 === 0).map((t, i, a) => (i ? t - a[i - 1]! : 0)).slice(1);
    expect(turns.slice(0, 3)).toEqual([150, 150, 150]);
    expect(turns.slice(-5)).toEqual([100, 100, 100, 100, 100]);
  });

  it('an untracked grant counts from its grant time; its release does nothing', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([{ limit: 1, windowMs: 100 }], { clock, marginMs: () => 0 });
    const release = await limiter.acquire();
    await clock.advance(70);
    release();
    let at = -1;
    void limiter.acquire().then(() => (at = clock.now()));
    await clock.advance(30);
    expect(at).toBe(100);
  });

  it('with no windows grants at once', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter([], { clock });
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(clock.now()).toBe(0);
  });
});

describe('Throttle', () => {
  it('pauseAll delays everyone, every operation, until the pause ends', async () => {
    const clock = new ManualClock(0);
    const waits: Array<[number, string]> = [];
    const t = new Throttle({ windowsFor: () => [], clock, onWait: (ms, why) => waits.push([ms, why]) });
    t.pauseAll(1000, '429 from the server');
    const got: Array<[string, number]> = [];
    void t.acquire('a').then(() => got.push(['a', clock.now()]));
    void t.acquire('b').then(() => got.push(['b', clock.now()]));
    await clock.advance(999);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual([['a', 1000], ['b', 1000]]);
    expect(waits).toEqual([[1000, '429 from the server']]);
  });

  it('a pause is extended but never shortened', async () => {
    const clock = new ManualClock(0);
    const t = new Throttle({ windowsFor: () => [], clock });
    t.pauseAll(1000, 'first');
    await clock.advance(100);
    t.pauseAll(200, 'shorter'); // would end at 300: ignored
    expect(t.pausedUntil).toBe(1000);
    let at = -1;
    void t.acquire('x').then(() => (at = clock.now()));
    await clock.advance(400);
    t.pauseAll(1000, 'longer'); // now 500 → 1500
    expect(t.pausedUntil).toBe(1500);
    await clock.advance(999);
    expect(at).toBe(-1);
    await clock.advance(1);
    expect(at).toBe(1500);
  });

  it('requests queued during a pause are released at the window rate, not in a burst', async () => {
    const clock = new ManualClock(0);
    const t = new Throttle({ windowsFor: () => [{ limit: 2, windowMs: 100 }], clock, marginMs: () => 0 });
    const times: number[] = [];
    // Use up the window, then a 429 pauses everyone while 6 more wait.
    await t.acquire('op');
    await t.acquire('op');
    t.pauseAll(500, '429');
    for (let i = 0; i < 6; i++) void t.acquire('op').then(() => times.push(clock.now()));
    await drain(clock, () => times.length === 6, 5);
    expect(times[0]).toBeGreaterThanOrEqual(500);
    expect(maxInAnyWindow(times, 100)).toBeLessThanOrEqual(2);
  });

  it('keeps a separate limiter per operation', async () => {
    const clock = new ManualClock(0);
    const t = new Throttle({ windowsFor: () => [{ limit: 1, windowMs: 1000 }], clock });
    await t.acquire('batch_update');
    await t.acquire('batch_create'); // not held back by batch_update's window
    expect(clock.now()).toBe(0);
  });
});
