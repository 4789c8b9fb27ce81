/**
 * Progress on stderr: a live bar in a terminal, a plain line every 10–30 s in CI logs and pipes, or nothing.
 * Time comes from an injectable clock so tests never wait.
 */
import { SingleBar, type Options } from 'cli-progress';
import { painter } from './color.js';
import { fmtInt } from '../report/summary.js';

export type ProgressMode = 'bar' | 'lines' | 'off';

/** CI=false / CI=0 (set by some runners to mean "not CI") count as unset. */
function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function progressMode(opts: {
  progress: boolean;
  quiet: boolean;
  stream: { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}): ProgressMode {
  if (opts.quiet || !opts.progress) return 'off';
  return opts.stream.isTTY === true && !isCi(opts.env) ? 'bar' : 'lines';
}

export interface ProgressState {
  done: number;
  /** 0 or less when not known yet (stdin still being read). */
  total: number;
  ok: number;
  failed: number;
  /** Set while the run is waiting (rate limit, Retry-After): how long the wait is. */
  waitingMs?: number;
  waitReason?: string;
}

export interface Progress {
  update(s: ProgressState): void;
  /** Prints a line (in every mode, 'off' included) without breaking the bar. */
  log(line: string): void;
  /** Idempotent; after it, update() does nothing. */
  stop(): void;
}

export interface ProgressOptions {
  mode: ProgressMode;
  stream: NodeJS.WritableStream;
  label: string;
  color: boolean;
  /** Lines mode: at most one line per interval; default 15000 (callers keep it within 10–30 s; tests go lower). */
  intervalMs?: number;
  clock?: () => number;
}

/** Rows per second since the first update, and the time left at that pace. */
class Pace {
  private startedAt: number | null = null;
  private startDone = 0;
  constructor(private readonly clock: () => number) {}

  measure(s: ProgressState): { rate: number; etaMs: number | null } {
    const now = this.clock();
    if (this.startedAt === null) {
      this.startedAt = now;
      this.startDone = s.done;
    }
    const secs = (now - this.startedAt) / 1000;
    const rate = secs > 0 ? (s.done - this.startDone) / secs : 0;
    const etaMs = s.total > 0 && rate > 0 ? ((s.total - s.done) / rate) * 1000 : null;
    return { rate, etaMs };
  }
}

function etaText(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function waitText(s: ProgressState): string | null {
  if (!s.waitingMs || s.waitingMs <= 0) return null;
  return `waiting ${(s.waitingMs / 1000).toFixed(1)} s${s.waitReason ? ` (${s.waitReason})` : ''}`;
}

/** `45,000/100,000 rows (45%) ok 44,990 failed 10 · 8,300 rows/s · ETA 7 s` (no label). */
export function progressText(s: ProgressState, rate: number, etaMs: number | null): string {
  const parts: string[] = [];
  parts.push(
    s.total > 0
      ? `${fmtInt(s.done)}/${fmtInt(s.total)} rows (${Math.floor((s.done / s.total) * 100)}%) ok ${fmtInt(s.ok)} failed ${fmtInt(s.failed)}`
      : `${fmtInt(s.done)} rows ok ${fmtInt(s.ok)} failed ${fmtInt(s.failed)}`,
  );
  if (rate > 0) parts.push(`${fmtInt(rate)} rows/s`);
  if (etaMs !== null && s.done < s.total) parts.push(`ETA ${etaText(etaMs)}`);
  const wait = waitText(s);
  if (wait) parts.push(wait);
  return parts.join(' · ');
}

/** A wait shorter than this is routine pacing, not worth a line of its own in a log. */
const WAIT_WORTH_A_LINE_MS = 1000;

function linesProgress(opts: ProgressOptions): Progress {
  const clock = opts.clock ?? Date.now;
  const interval = opts.intervalMs ?? 15_000;
  const pace = new Pace(clock);
  const start = clock();
  let lastLine = start;
  let lastWaitLine = -Infinity;
  let waiting = false;
  let stopped = false;
  const write = (text: string) => opts.stream.write(`[${opts.label}] ${text}\n`);
  return {
    update(s) {
      if (stopped) return;
      const now = clock();
      const { rate, etaMs } = pace.measure(s);
      const nowWaiting = (s.waitingMs ?? 0) > 0;
      const waitStarts = nowWaiting && !waiting && (s.waitingMs ?? 0) >= WAIT_WORTH_A_LINE_MS;
      waiting = nowWaiting;
      if (waitStarts && now - lastWaitLine >= interval) {
        lastWaitLine = now;
        lastLine = now;
        write(progressText(s, rate, etaMs));
      } else if (now - lastLine >= interval) {
        lastLine = now;
        write(progressText(s, rate, etaMs));
      }
    },
    log(line) {
      opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {
      stopped = true;
    },
  };
}

const BAR_WIDTH = 20;

/**
 * The terminal cli-progress draws through. Its own one saves and restores the cursor position (which jumps
 * back over lines printed with log()) and cuts lines by raw length (escape codes included); this one only
 * goes to column 0, writes, and clears to the right. The line is fitted to the width by the formatter.
 */
class LineTerminal {
  constructor(private readonly stream: NodeJS.WritableStream & { columns?: number }) {}
  isTTY(): boolean {
    return true;
  }
  getWidth(): number {
    return this.stream.columns || 80;
  }
  cursorTo(x: number | null): void {
    if (x === 0) this.stream.write('\r');
  }
  write(s: string): void {
    this.stream.write(s);
  }
  clearRight(): void {
    this.stream.write('\x1b[K');
  }
  clearLine(): void {
    this.stream.write('\r\x1b[2K');
  }
  newline(): void {
    this.stream.write('\n');
  }
  cursorSave(): void {}
  cursorRestore(): void {}
  cursor(): void {}
  lineWrapping(): void {}
}

function barProgress(opts: ProgressOptions): Progress {
  const clock = opts.clock ?? Date.now;
  const pace = new Pace(clock);
  const p = painter(opts.color);
  let state: ProgressState = { done: 0, total: 0, ok: 0, failed: 0 };
  let rate = 0;
  let etaMs: number | null = null;
  let started = false;
  let stopped = false;

  // Builds the whole line and fits it to the terminal's width by dropping the least useful parts.
  const format = (_o: unknown, params: { maxWidth: number }): string => {
    const s = state;
    const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
    const filled = Math.round(frac * BAR_WIDTH);
    // `drop`: the order in which parts go when the line is too wide (0 = never).
    const segs: { plain: string; painted: string; drop: number }[] = [];
    const add = (drop: number, plain: string, painted = plain) => segs.push({ plain, painted, drop });
    add(0, opts.label);
    if (s.total > 0) {
      add(1, '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled), p.ok('█'.repeat(filled)) + '░'.repeat(BAR_WIDTH - filled));
      add(0, `${fmtInt(s.done)}/${fmtInt(s.total)}`);
    } else {
      add(0, `${fmtInt(s.done)} rows`);
    }
    add(0, `ok ${fmtInt(s.ok)}`);
    const failed = `failed ${fmtInt(s.failed)}`;
    add(0, failed, s.failed > 0 ? p.fail(failed) : failed);
    if (rate > 0) add(3, `· ${fmtInt(rate)} rows/s`);
    if (etaMs !== null && s.done < s.total) add(2, `· ETA ${etaText(etaMs)}`);
    const wait = waitText(s);
    if (wait) add(0, `· ${wait}`, p.warn(`· ${wait}`));
    const budget = Math.max(10, (params.maxWidth || 80) - 1);
    for (let level = 1; ; level++) {
      if (segs.map((x) => x.plain).join(' ').length <= budget) return segs.map((x) => x.painted).join(' ');
      const before = segs.length;
      for (let i = segs.length - 1; i >= 0; i--) if (segs[i]!.drop === level) segs.splice(i, 1);
      if (level > 3 && segs.length === before) break;
    }
    // Still too wide (a very narrow terminal): plain text, cut.
    return segs.map((x) => x.plain).join(' ').slice(0, budget);
  };

  const barOptions: Options & { terminal: unknown } = {
    stream: opts.stream,
    format: format as never,
    terminal: new LineTerminal(opts.stream), // an option cli-progress has but its types lack
    hideCursor: false, // a killed process must not leave the cursor hidden
    linewrap: true, // no terminal mode switching either; the line is fitted to the width instead
    clearOnComplete: false,
    forceRedraw: true, // redraw after log() cleared the line
    gracefulExit: false, // the CLI stops the bar in its finally
    fps: 10,
  };
  const bar = new SingleBar(barOptions);

  return {
    update(s) {
      if (stopped) return;
      state = s;
      ({ rate, etaMs } = pace.measure(s));
      if (!started) {
        started = true;
        bar.start(Math.max(1, s.total), s.done);
      } else {
        bar.setTotal(Math.max(1, s.total, s.done));
        bar.update(s.done);
      }
    },
    log(line) {
      if (started && !stopped) {
        opts.stream.write(`\r\x1b[2K${line}\n`);
        bar.render();
      } else {
        opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.mode === 'bar') return barProgress(opts);
  if (opts.mode === 'lines') return linesProgress(opts);
  // Off: no progress at all, but log() still prints: it carries messages (warnings), not progress, and the
  // caller decides which of them --quiet silences.
  return {
    update() {},
    log(line) {
      opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {},
  };
}
