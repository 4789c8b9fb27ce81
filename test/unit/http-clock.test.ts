import { describe, expect, it } from 'vitest';
import { realClock } from '../../src/http/clock.js';
import { ManualClock } from '../support/manual-clock.js';

describe('ManualClock', () => {
  it('wakes sleepers in deadline order as advance() passes them, and lets each react first', async () => {
    const clock = new ManualClock(100);
    const log: string[] = [];
    void clock.sleep(50).then(() => log.push(`a@${clock.now()}`));
    void clock.sleep(10).then(async () => {
      log.push(`b@${clock.now()}`);
      await clock.sleep(15); // scheduled while advancing: wakes at 125, before a
      log.push(`c@${clock.now()}`);
    });
    await clock.advance(49);
    expect(log).toEqual(['b@110', 'c@125']);
    await clock.advance(1);
    expect(log).toEqual(['b@110', 'c@125', 'a@150']);
    expect(clock.now()).toBe(150);
  });

  it('rejects a sleeper with an AbortError when its signal aborts', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal).catch((e: Error) => e.name);
    ac.abort();
    expect(await p).toBe('AbortError');
    expect(clock.pending).toEqual([]);
    expect(await clock.sleep(1, AbortSignal.abort()).catch((e: Error) => e.name)).toBe('AbortError');
  });

  it('auto mode jumps to the next deadline by itself', async () => {
    const clock = new ManualClock(0, { auto: true });
    await clock.sleep(3_600_000);
    expect(clock.now()).toBe(3_600_000);
    const order: number[] = [];
    await Promise.all([clock.sleep(20).then(() => order.push(clock.now())), clock.sleep(10).then(() => order.push(clock.now()))]);
    expect(order).toEqual([3_600_010, 3_600_020]);
  });
});

describe('realClock', () => {
  it('sleep(0) resolves and an abort rejects with an AbortError', async () => {
    await realClock.sleep(0);
    const ac = new AbortController();
    const p = realClock.sleep(60_000, ac.signal).catch((e: Error) => e.name);
    ac.abort();
    expect(await p).toBe('AbortError');
  });
});
