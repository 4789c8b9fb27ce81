import { afterEach, describe, expect, it, vi } from 'vitest';
import { sink } from '../support/streams.js';
import { createProgress, progressMode, progressText, type ProgressMode } from '../../src/ui/progress.js';


const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('progressMode', () => {
  const cases: [string, Parameters<typeof progressMode>[0], ProgressMode][] = [
    ['TTY', { progress: true, quiet: false, stream: { isTTY: true }, env: {} }, 'bar'],
    ['TTY in CI', { progress: true, quiet: false, stream: { isTTY: true }, env: { CI: 'true' } }, 'lines'],
    ['TTY with CI=false', { progress: true, quiet: false, stream: { isTTY: true }, env: { CI: 'false' } }, 'bar'],
    ['pipe', { progress: true, quiet: false, stream: { isTTY: false }, env: {} }, 'lines'],
    ['pipe in CI', { progress: true, quiet: false, stream: {}, env: { CI: '1' } }, 'lines'],
    ['--no-progress', { progress: false, quiet: false, stream: { isTTY: true }, env: {} }, 'off'],
    ['--quiet', { progress: true, quiet: true, stream: { isTTY: true }, env: {} }, 'off'],
    ['--quiet on a pipe', { progress: true, quiet: true, stream: {}, env: { CI: '1' } }, 'off'],
  ];
  for (const [name, input, want] of cases) it(name, () => expect(progressMode(input)).toBe(want));
});

describe('progressText', () => {
  it('has done/total, percent, counts, rate and ETA', () => {
    expect(progressText({ done: 45_000, total: 100_000, ok: 44_990, failed: 10 }, 8300, 6630)).toBe(
      '45,000/100,000 rows (45%) ok 44,990 failed 10 · 8,300 rows/s · ETA 7 s',
    );
  });
  it('works without a known total and shows a wait', () => {
    expect(progressText({ done: 500, total: 0, ok: 500, failed: 0, waitingMs: 3200, waitReason: 'rate limit' }, 0, null)).toBe(
      '500 rows ok 500 failed 0 · waiting 3.2 s (rate limit)',
    );
  });
});

describe('lines mode', () => {
  it('prints at most one line per interval, plus one when a wait starts, with no escape codes', () => {
    let now = 1_000_000;
    const out = sink(false);
    const p = createProgress({ mode: 'lines', stream: out, label: 'cmdb-bulk', color: true, intervalMs: 15_000, clock: () => now });
    const lines = () => out.text().split('\n').filter(Boolean);

    p.update({ done: 0, total: 100_000, ok: 0, failed: 0 });
    for (let i = 1; i <= 14; i++) {
      now += 1000;
      p.update({ done: i * 1000, total: 100_000, ok: i * 1000, failed: 0 });
    }
    expect(lines()).toHaveLength(0); // 14 s: not yet

    now += 1000; // 15 s
    p.update({ done: 15_000, total: 100_000, ok: 14_990, failed: 10 });
    expect(lines()).toEqual(['[cmdb-bulk] 15,000/100,000 rows (15%) ok 14,990 failed 10 · 1,000 rows/s · ETA 1 min 25 s']);

    now += 5000; // a wait starts: one line at once
    p.update({ done: 20_000, total: 100_000, ok: 19_990, failed: 10, waitingMs: 3200, waitReason: 'rate limit' });
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toContain('waiting 3.2 s (rate limit)');
    now += 100; // still waiting: nothing more
    p.update({ done: 20_000, total: 100_000, ok: 19_990, failed: 10, waitingMs: 3100, waitReason: 'rate limit' });
    expect(lines()).toHaveLength(2);
    now += 100; // a short pause is routine pacing, no line
    p.update({ done: 20_000, total: 100_000, ok: 19_990, failed: 10 });
    p.update({ done: 20_000, total: 100_000, ok: 19_990, failed: 10, waitingMs: 20 });
    expect(lines()).toHaveLength(2);

    now += 15_000;
    p.update({ done: 50_000, total: 100_000, ok: 49_990, failed: 10 });
    expect(lines()).toHaveLength(3);

    p.log('token renewed');
    expect(lines()[3]).toBe('token renewed');
    p.stop();
    p.stop();
    now += 60_000;
    p.update({ done: 60_000, total: 100_000, ok: 59_990, failed: 10 });
    expect(lines()).toHaveLength(4);
    expect(out.text()).not.toContain('\x1b');
  });
});

describe('lines mode timer and wait()', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps printing every interval while nothing moves, and stops with stop()', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = 0;
    const out = sink(false);
    const p = createProgress({ mode: 'lines', stream: out, label: 'x', color: false, intervalMs: 1000, clock: () => now });
    const lines = () => out.text().split('\n').filter(Boolean);
    vi.advanceTimersByTime(1000);
    expect(lines()).toHaveLength(0); // nothing to say before the first update
    p.update({ done: 10, total: 100, ok: 10, failed: 0 });
    now = 1000;
    vi.advanceTimersByTime(1000);
    expect(lines()).toHaveLength(1);
    now = 2000;
    vi.advanceTimersByTime(1000);
    expect(lines()).toEqual(['[x] 10/100 rows (10%) ok 10 failed 0', '[x] 10/100 rows (10%) ok 10 failed 0']);
    p.stop();
    now = 10_000;
    vi.advanceTimersByTime(10_000);
    expect(lines()).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('wait() prints a line at once for a wait worth it, once per interval, and counts down', () => {
    let now = 0;
    const out = sink(false);
    const p = createProgress({ mode: 'lines', stream: out, label: 'x', color: false, intervalMs: 15_000, clock: () => now });
    const lines = () => out.text().split('\n').filter(Boolean);
    p.update({ done: 10, total: 100, ok: 10, failed: 0 });
    now = 100;
    p.wait(300, 'rate limit'); // short: routine pacing
    expect(lines()).toHaveLength(0);
    now = 1000;
    p.wait(3000, 'rate limit: the server asked to wait');
    expect(lines()).toEqual(['[x] 10/100 rows (10%) ok 10 failed 0 · waiting 3.0 s (rate limit: the server asked to wait)']);
    now = 5000;
    p.wait(3000, 'rate limit'); // a new wait, but within the interval: no second line
    expect(lines()).toHaveLength(1);
    now = 16_000; // the regular line shows the wait still in effect, counting down
    p.update({ done: 20, total: 100, ok: 20, failed: 0 });
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).not.toContain('waiting'); // the wait ended at 8,000
    p.stop();
  });
});

describe('off mode', () => {
  it('prints no progress, but still prints logged messages', () => {
    const out = sink(true);
    const p = createProgress({ mode: 'off', stream: out, label: 'x', color: true });
    p.update({ done: 1, total: 2, ok: 1, failed: 0 });
    expect(out.text()).toBe('');
    p.log('warning: something');
    p.stop();
    p.stop();
    expect(out.text()).toBe('warning: something\n');
  });
});

describe('bar mode', () => {
  it('draws on a fake TTY, logs above the bar, and stop() is idempotent and leaves no timer', () => {
    const before = timers();
    let now = 0;
    const out = sink(true, 200);
    const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: false, clock: () => now });
    p.update({ done: 0, total: 1000, ok: 0, failed: 0 });
    expect(timers()).toBe(before + 1); // cli-progress redraw timer
    now = 2000;
    p.update({ done: 500, total: 1000, ok: 490, failed: 10, waitingMs: 3200, waitReason: 'rate limit' });
    p.log('a message');
    const text = out.text();
    expect(text).toContain('create-inst');
    expect(text).toContain('500/1,000 ok 490 failed 10 · waiting 3.2 s (rate limit)'); // the wait takes the place of rate and ETA
    // The message gets a line of its own and the bar is drawn again below it.
    const at = text.indexOf('a message\n');
    expect(at).toBeGreaterThan(0);
    expect(text.slice(0, at)).toMatch(/\r[ \x1b\[\dK]*$/); // the bar's line was blanked first
    expect(text.slice(at)).toContain('create-inst');
    expect(text).not.toContain('\x1b7'); // no cursor save/restore that would jump over logged lines
    p.stop();
    expect(timers()).toBe(before);
    const len = out.text().length;
    p.stop();
    p.update({ done: 600, total: 1000, ok: 590, failed: 10 });
    expect(timers()).toBe(before);
    expect(out.text().length).toBe(len);
    expect(out.text().endsWith('\n')).toBe(true);
  });

  it('shows a wait from wait() counting down, and drops it when it is over', () => {
    let now = 0;
    const out = sink(true, 200);
    const p = createProgress({ mode: 'bar', stream: out, label: 'x', color: false, clock: () => now });
    p.update({ done: 1, total: 10, ok: 1, failed: 0 });
    p.wait(3000, 'rate limit');
    now = 1000;
    p.log('redraw');
    expect(out.text().split('redraw\n')[1]).toContain('waiting 2.0 s (rate limit)');
    now = 4000;
    p.log('again');
    expect(out.text().split('again\n')[1]).not.toContain('waiting');
    p.stop();
  });

  it('stop() before any update is safe and starts nothing', () => {
    const before = timers();
    const p = createProgress({ mode: 'bar', stream: sink(true), label: 'x', color: false });
    p.stop();
    p.stop();
    expect(timers()).toBe(before);
  });

  it('fits a narrow terminal by dropping the least useful parts', () => {
    const out = sink(true, 60);
    let now = 0;
    const p = createProgress({ mode: 'bar', stream: out, label: 'create-inst', color: true, clock: () => now });
    p.update({ done: 0, total: 100_000, ok: 0, failed: 0 });
    now = 1000;
    p.update({ done: 50_000, total: 100_000, ok: 49_000, failed: 1000 });
    p.stop();
    const drawn = out.text().split('\r').map((l) => l.replace(/\x1b\[[0-9;]*[mK]/g, '').replace(/\n$/, ''));
    for (const l of drawn) expect(l.length).toBeLessThan(60);
    expect(drawn.some((l) => l.includes('50,000/100,000 ok 49,000 failed 1,000'))).toBe(true);
  });
});
