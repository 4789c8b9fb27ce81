/** Progress: waits shown and counted down, the lines timer, the bar's fitting, unsent rows; the throttle's wait reports. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sink } from '../support/streams.js';
import { createProgress } from '../../src/ui/progress.js';
import { Throttle } from '../../src/http/limiter.js';
import { ManualClock } from '../support/manual-clock.js';


/** The frames the bar drew (split at carriage returns), without colour codes and trailing blanks. cli-progress
 *  redraws on its own timer (10 per second), so a test draws a frame by logging a line or stopping the bar. */
const frames = (text: string) => text.split('\r').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trimEnd()).filter(Boolean);

describe('bar mode', () => {
  it('shows a wait counting down, keeps the longer of two waits, and drops it when it is over', () => {
    let now = 0;
    const out = sink(true);
    const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: false, clock: () => now });
    p.update({ done: 0, total: 100, ok: 0, failed: 0 });
    p.wait(3200, 'server rate limit');
    p.wait(500, 'rate limit'); // shorter: the 3.2 s wait stays, with its reason
    const frame = () => {
      p.log('-');
      return frames(out.text()).at(-1)!;
    };
    now = 1000;
    p.update({ done: 10, total: 100, ok: 10, failed: 0 });
    expect(frame()).toMatch(/ok 10 failed 0 · waiting 2\.2 s \(server rate limit\)$/); // in place of rate and ETA
    now = 2000;
    expect(frame()).toContain('· waiting 1.2 s (server rate limit)'); // counts down with no update
    now = 3300;
    p.update({ done: 20, total: 100, ok: 20, failed: 0 });
    expect(frame()).not.toContain('waiting');
    now = 3400;
    p.wait(100, 'rate limit'); // routine pacing: too short to show
    p.update({ done: 21, total: 100, ok: 21, failed: 0 });
    expect(frame()).not.toContain('waiting');
    p.stop();
  });

  it('writes no escape code at all without colours, and blanks a longer old line with spaces', () => {
    let now = 0;
    const out = sink(true, 100);
    const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: false, clock: () => now });
    p.update({ done: 0, total: 1000, ok: 0, failed: 0 });
    now = 1000;
    p.update({ done: 500, total: 1000, ok: 500, failed: 0, waitingMs: 5000, waitReason: 'server rate limit' });
    p.log('a note'); // draws the frame with the wait
    now = 7000;
    p.update({ done: 600, total: 1000, ok: 600, failed: 0 });
    p.stop(); // draws the last, shorter frame right over it
    p.log('a warning');
    const text = out.text();
    expect(text).not.toContain('\x1b');
    expect(text).toContain('waiting 5.0 s (server rate limit)');
    const last = text.slice(text.lastIndexOf('\r') + 1);
    expect(last).toMatch(/^create-inst █+░+ 600\/1,000 ok 600 failed 0 [^\n]* {10,}\na warning\n$/);
  });

  it('narrows the bar, then drops rows/s, then ETA, and the bar last', () => {
    const draw = (columns: number) => {
      let now = 0;
      const out = sink(true, columns);
      const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: true, clock: () => now });
      p.update({ done: 0, total: 100_000, ok: 0, failed: 0 });
      now = 1000;
      p.update({ done: 50_000, total: 100_000, ok: 49_000, failed: 1000 });
      p.stop();
      return frames(out.text()).at(-1)!;
    };
    const wide = draw(200);
    expect(wide).toMatch(/█{12}░{12} 50,000\/100,000 ok 49,000 failed 1,000 · 50,000 rows\/s · ETA 1 s$/);
    const eighty = draw(80);
    expect(eighty.length).toBeLessThan(80);
    // The bar got narrower, and rows/s (the least useful part) went.
    expect(eighty).toMatch(/ █{8,}░{8,} 50,000\/100,000 ok 49,000 failed 1,000 · ETA 1 s$/);
    const narrow = draw(50);
    expect(narrow.length).toBeLessThan(50);
    expect(narrow).toBe('create-inst 50,000/100,000 ok 49,000 failed 1,000');
  });

  it('does not widen the bar again during a run', () => {
    let now = 0;
    const out = sink(true, 80);
    const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: false, clock: () => now });
    const bars: number[] = [];
    const frame = () => {
      p.log('-');
      bars.push((frames(out.text()).at(-1)!.match(/[█░]+/)?.[0] ?? '').length);
    };
    p.update({ done: 0, total: 100_000, ok: 0, failed: 0 });
    frame(); // nothing but counts yet: the widest bar
    now = 1000;
    p.update({ done: 1000, total: 100_000, ok: 1000, failed: 0 });
    frame(); // rate and ETA take room
    now = 2000;
    p.update({ done: 1000, total: 100_000, ok: 1000, failed: 0, waitingMs: 3000, waitReason: 'rate limit' });
    frame();
    now = 6000;
    p.update({ done: 5000, total: 100_000, ok: 5000, failed: 0 });
    frame();
    p.stop();
    expect(bars[0]).toBe(24);
    expect(bars[1]).toBeLessThan(24);
    expect(bars[2]).toBeLessThanOrEqual(bars[1]!); // 80 columns: the wait leaves no room for a bar at all
    expect(bars[3]).toBe(bars[1]); // back after the wait, as wide as before, not wider
  });

  it('shows unsent rows and does not fill the bar with them', () => {
    let now = 0;
    const out = sink(true, 200);
    const p = createProgress({ mode: 'bar', stream: out, label: 'x', color: false, clock: () => now });
    p.update({ done: 0, total: 100, ok: 0, failed: 0 });
    now = 1000;
    p.update({ done: 100, total: 100, ok: 20, failed: 5 }); // interrupted: 75 rows recorded unsent at once
    p.stop();
    const last = frames(out.text()).at(-1)!;
    expect(last).toContain('100/100 ok 20 failed 5 unsent 75');
    expect(last).toMatch(/ █{6}░{18} /); // 25 of 100 went through
    expect(last).toContain('25 rows/s');
  });
});

describe('lines mode', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prints a line every interval from its timer while nothing moves, and stops printing after stop()', () => {
    const out = sink(false);
    const clock = () => Date.now(); // faked by vi
    const p = createProgress({ mode: 'lines', stream: out, label: 'create-inst', color: false, intervalMs: 10_000, clock });
    vi.advanceTimersByTime(5000);
    expect(out.text()).toBe(''); // nothing to say before the first update
    p.update({ done: 0, total: 500, ok: 0, failed: 0 });
    p.wait(45_000, 'server rate limit'); // a long wait starts: one line at once
    expect(out.text().split('\n').filter(Boolean)).toEqual(['[create-inst] 0/500 rows (0%) ok 0 failed 0 · waiting 45.0 s (server rate limit)']);
    vi.advanceTimersByTime(10_000);
    vi.advanceTimersByTime(10_000);
    const lines = out.text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('waiting 35.0 s (server rate limit)');
    expect(lines[2]).toContain('waiting 25.0 s (server rate limit)');
    p.stop();
    vi.advanceTimersByTime(60_000);
    expect(out.text().split('\n').filter(Boolean)).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
    expect(out.text()).not.toContain('\x1b');
  });
});

describe('Throttle wait reports', () => {
  it("reports waits for the client's own windows as 'rate limit', and a 429 pause once with its reason", async () => {
    const clock = new ManualClock(0);
    const waits: Array<[number, string]> = [];
    const t = new Throttle({ windowsFor: () => [{ limit: 1, windowMs: 1000 }], clock, marginMs: () => 0, onWait: (ms, why) => waits.push([ms, why]) });
    await t.acquire('op');
    const second = t.acquire('op');
    await clock.advance(0);
    expect(waits).toEqual([[1000, 'rate limit']]);
    await clock.advance(1000);
    await second;
    t.pauseAll(5000, 'op: rate limited (HTTP 429)');
    const third = t.acquire('op');
    await clock.advance(0);
    // The pause (longer than the window) holds the request: reported once, by pauseAll, not again as 'rate limit'.
    expect(waits).toEqual([[1000, 'rate limit'], [5000, 'op: rate limited (HTTP 429)']]);
    await clock.advance(5000);
    await third;
  });
});
