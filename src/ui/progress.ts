/**
 * Progress on stderr: a live bar in a terminal, a plain line every 10–30 s in CI logs and pipes, or nothing.
 * Time comes from an injectable clock so tests never wait.
 */
import { createRequire } from 'node:module';
import type { Options, SingleBar } from 'cli-progress';
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
  /** Rows with an outcome: ok, failed (invalid included) or unsent (done − ok − failed). */
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
  /**
   * The run is held for `ms` from now (client rate limiter, or a 429 asking everyone to pause): shown as
   * "waiting 3.2 s (rate limit)", counting down, until it ends. A wait never shortens one already shown.
   */
  wait(ms: number, reason: string): void;
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
  /**
   * Lines mode: one line per interval, also while nothing moves (a timer), so a long wait shows life in a CI log;
   * default 15000 (callers keep it within 10–30 s; tests go lower).
   */
  intervalMs?: number;
  clock?: () => number;
}

/** The wait in effect: set by wait() or by an update carrying waitingMs; over when the clock passes its end. */
class Wait {
  private endsAt = -Infinity;
  private reason: string | undefined;
  constructor(private readonly clock: () => number) {}

  /** Returns true when this starts a wait (none was running). */
  set(ms: number, reason: string | undefined): boolean {
    const now = this.clock();
    const starts = this.endsAt <= now;
    const end = now + Math.max(0, ms);
    if (end > this.endsAt) {
      this.endsAt = end;
      this.reason = reason;
    }
    return starts;
  }

  /** The state to show, with the time left of the wait (if any). */
  apply(s: ProgressState): ProgressState {
    const left = this.endsAt - this.clock();
    return left > 0 ? { ...s, waitingMs: left, waitReason: this.reason } : { ...s, waitingMs: undefined, waitReason: undefined };
  }
}

/** Rows per second since the first update, and the time left at that pace. */
class Pace {
  private startedAt: number | null = null;
  private startDone = 0;
  constructor(private readonly clock: () => number) {}

  measure(s: ProgressState): { rate: number; etaMs: number | null } {
    const now = this.clock();
    // The pace of rows that went through; unsent rows (a stopped run) are recorded at once and say nothing of it.
    const through = s.ok + s.failed;
    if (this.startedAt === null) {
      this.startedAt = now;
      this.startDone = through;
    }
    const secs = (now - this.startedAt) / 1000;
    const rate = secs > 0 ? (through - this.startDone) / secs : 0;
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
  if (unsentOf(s) > 0) parts[0] += ` unsent ${fmtInt(unsentOf(s))}`;
  if (rate > 0) parts.push(`${fmtInt(rate)} rows/s`);
  if (etaMs !== null && s.done < s.total) parts.push(`ETA ${etaText(etaMs)}`);
  const wait = waitText(s);
  if (wait) parts.push(wait);
  return parts.join(' · ');
}

function unsentOf(s: ProgressState): number {
  return Math.max(0, s.done - s.ok - s.failed);
}

/** A wait shorter than this is routine pacing, not worth a line of its own in a log. */
const WAIT_WORTH_A_LINE_MS = 1000;

function linesProgress(opts: ProgressOptions): Progress {
  const clock = opts.clock ?? Date.now;
  const interval = opts.intervalMs ?? 15_000;
  const pace = new Pace(clock);
  const wait = new Wait(clock);
  let lastLine = clock();
  let lastWaitLine = -Infinity;
  let state: ProgressState | null = null;
  let rate = 0;
  let etaMs: number | null = null;
  let stopped = false;
  const write = () => {
    lastLine = clock();
    opts.stream.write(`[${opts.label}] ${progressText(wait.apply(state!), rate, etaMs)}\n`);
  };
  // A wait long enough to matter gets a line at once (at most one such line per interval).
  const startWait = (ms: number, reason: string | undefined) => {
    if (wait.set(ms, reason) && ms >= WAIT_WORTH_A_LINE_MS && state && clock() - lastWaitLine >= interval) {
      lastWaitLine = clock();
      write();
    }
  };
  // Between updates (a long rate-limit pause, a slow server) the timer keeps the lines coming, one per interval
  // give or take a quarter; unref'd, it never holds the process open.
  const timer = setInterval(() => {
    if (!stopped && state && clock() - lastLine >= interval) write();
  }, Math.max(1, interval / 4));
  timer.unref();
  return {
    update(s) {
      if (stopped) return;
      state = s;
      ({ rate, etaMs } = pace.measure(s));
      if (s.waitingMs !== undefined && s.waitingMs > 0) startWait(s.waitingMs, s.waitReason);
      if (clock() - lastLine >= interval) write();
    },
    wait(ms, reason) {
      if (!stopped) startWait(ms, reason);
    },
    log(line) {
      opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** The bar's width in characters: as wide as this when the line has room, never narrower than the minimum. */
const BAR_WIDTH = 24;
const BAR_MIN = 8;
/** A wait shorter than this is not worth showing on the bar (it would flicker "waiting 0.0 s"). */
const WAIT_WORTH_SHOWING_MS = 200;

/** Visible length of a string: SGR colour codes do not take room. */
function visible(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/**
 * The terminal cli-progress draws through. Its own one saves and restores the cursor position (which jumps
 * back over lines printed with log()) and cuts lines by raw length (escape codes included); this one only
 * returns to column 0, writes, and blanks what is left of the previous, longer line with spaces, so without
 * colours the bar writes no escape code at all. The line is fitted to the width by the formatter.
 */
class LineTerminal {
  /** Visible length of the line on screen now. */
  private shown = 0;
  private current = 0;
  constructor(private readonly stream: NodeJS.WritableStream & { columns?: number }) {}
  isTTY(): boolean {
    return true;
  }
  getWidth(): number {
    return this.stream.columns || 80;
  }
  cursorTo(x: number | null): void {
    if (x === 0) {
      this.stream.write('\r');
      this.current = 0;
    }
  }
  write(s: string): void {
    this.stream.write(s);
    this.current += visible(s);
  }
  clearRight(): void {
    if (this.shown > this.current) this.stream.write(' '.repeat(this.shown - this.current));
    this.shown = this.current;
  }
  /** Blanks the bar's line and returns to column 0 (before a logged line takes its place). */
  clearLine(): void {
    this.stream.write(`\r${' '.repeat(this.shown)}\r`);
    this.shown = this.current = 0;
  }
  newline(): void {
    this.stream.write('\n');
    this.shown = this.current = 0;
  }
  cursorSave(): void {}
  cursorRestore(): void {}
  cursor(): void {}
  lineWrapping(): void {}
}

/** cli-progress, required only when a bar is drawn (a terminal): pipes, CI and --quiet never load it. */
function loadSingleBar(): typeof SingleBar {
  return (createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress')).SingleBar;
}

function barProgress(opts: ProgressOptions): Progress {
  const clock = opts.clock ?? Date.now;
  const pace = new Pace(clock);
  const wait = new Wait(clock);
  const p = painter(opts.color);
  let state: ProgressState = { done: 0, total: 0, ok: 0, failed: 0 };
  let rate = 0;
  let etaMs: number | null = null;
  let started = false;
  let stopped = false;
  let barWidth = BAR_WIDTH;

  // Builds the whole line and fits it to the terminal's width: the bar narrows first, then the least useful parts go.
  const format = (_o: unknown, params: { maxWidth: number }): string => {
    const s = wait.apply(state);
    const budget = Math.max(10, (params.maxWidth || 80) - 1);
    // `drop`: the order in which parts go when the line is too wide (1 first; 0 = never): rows/s, ETA, the bar.
    // The bar is a placeholder until the room left for it is known.
    const segs: { plain: string; painted: string; drop: number; bar?: true }[] = [];
    const add = (drop: number, plain: string, painted = plain) => segs.push({ plain, painted, drop });
    add(0, opts.label);
    if (s.total > 0) {
      segs.push({ plain: '', painted: '', drop: 3, bar: true });
      add(0, `${fmtInt(s.done)}/${fmtInt(s.total)}`);
    } else {
      add(0, `${fmtInt(s.done)} rows`);
    }
    add(0, `ok ${fmtInt(s.ok)}`);
    const failed = `failed ${fmtInt(s.failed)}`;
    add(0, failed, s.failed > 0 ? p.fail(failed) : failed);
    const unsent = unsentOf(s);
    if (unsent > 0) add(0, `unsent ${fmtInt(unsent)}`, p.warn(`unsent ${fmtInt(unsent)}`));
    if ((s.waitingMs ?? 0) >= WAIT_WORTH_SHOWING_MS) {
      // While held, the wait takes the place of rate and ETA (both mean little then), so the line keeps its length.
      const w = `· ${waitText(s)}`;
      add(0, w, p.warn(w));
    } else {
      if (rate > 0) add(1, `· ${fmtInt(rate)} rows/s`);
      if (etaMs !== null && s.done < s.total) add(2, `· ETA ${etaText(etaMs)}`);
    }
    // Room taken by the text, and by the text plus the narrowest bar (when the bar is still in).
    const text = () => segs.reduce((n, x) => n + (x.bar ? 0 : x.plain.length + 1), -1);
    const need = () => text() + (segs.some((x) => x.bar) ? 1 + BAR_MIN : 0);
    for (let level = 1; level <= 3 && need() > budget; level++) {
      for (let i = segs.length - 1; i >= 0; i--) if (segs[i]!.drop === level) segs.splice(i, 1);
    }
    const bar = segs.find((x) => x.bar);
    if (bar) {
      // The bar never widens again during a run: a bar that jumps with every change of the text is restless.
      const n = (barWidth = Math.min(barWidth, budget - text() - 1));
      // Filled by the rows that went through: a stopped run's unsent rows do not make the bar look finished.
      const filled = Math.round(Math.min(1, (s.ok + s.failed) / s.total) * n);
      bar.plain = '█'.repeat(filled) + '░'.repeat(n - filled);
      bar.painted = p.ok('█'.repeat(filled)) + '░'.repeat(n - filled);
    }
    const plain = segs.map((x) => x.plain).join(' ');
    // Still too wide (a very narrow terminal): plain text, cut.
    return plain.length <= budget ? segs.map((x) => x.painted).join(' ') : plain.slice(0, budget);
  };

  const terminal = new LineTerminal(opts.stream);
  const barOptions: Options & { terminal: unknown } = {
    stream: opts.stream,
    format: format as never,
    terminal, // an option cli-progress has but its types lack
    hideCursor: false, // a killed process must not leave the cursor hidden
    linewrap: true, // no terminal mode switching either; the line is fitted to the width instead
    clearOnComplete: false,
    forceRedraw: true, // redraw after log() blanked the line, and count a wait down
    gracefulExit: false, // the CLI stops the bar in its finally
    fps: 10,
  };
  const bar = new (loadSingleBar())(barOptions);

  return {
    update(s) {
      if (stopped) return;
      state = s;
      ({ rate, etaMs } = pace.measure(s));
      if (s.waitingMs !== undefined && s.waitingMs > 0) wait.set(s.waitingMs, s.waitReason);
      if (!started) {
        started = true;
        bar.start(Math.max(1, s.total), s.done);
      } else {
        bar.setTotal(Math.max(1, s.total, s.done));
        bar.update(s.done);
      }
    },
    wait(ms, reason) {
      if (!stopped) wait.set(ms, reason);
    },
    log(line) {
      if (started && !stopped) {
        terminal.clearLine();
        opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
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
    wait() {},
    log(line) {
      opts.stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {},
  };
}
