/**
 * How many requests of one server may be on the wire at once (docs/decisions.md, "Requests in flight").
 *
 * A rate-limited server needs about rate × round trip requests in flight to be kept at its rate (Little's law): 50/s
 * with a 150 ms round trip needs 7.5. Fewer caps the run at in-flight ÷ round trip whatever the windows allow (4 at
 * 150 ms: 27/s, half of Feishu's 50/s). So the cap follows the round trips measured: the peak rate the windows allow
 * × the median of the recent round trips × HEADROOM, never below the old fixed default (START) and never above AUTO_MAX
 * or what the windows let go in one round trip. A server without a rate limit keeps a fixed bound (UNLIMITED): its
 * rate is whatever it takes, and the tool should not flood it. An explicit `--concurrency N` is the cap instead, for
 * either kind of server: N requests in flight at most, not sized below that.
 *
 * A request counts from the moment the limiter grants it to its finish (RateLimiter asks `hasRoom` before granting):
 * waiting at the limiter does not take a place here.
 */
import type { RateWindow } from './limiter.js';

/** The cap before any round trip is known, and its floor: the fixed default of earlier versions. */
export const START = 4;
/** The bound for a server without a rate limit (no round-trip sizing: its rate is unknown). */
export const UNLIMITED = 4;
/** The most the sizing may reach (the top of --concurrency's range). */
export const AUTO_MAX = 64;
/** Margin over rate × round trip: round trips vary, and a turn of the windows should never wait for a free place. */
const HEADROOM = 1.5;
/** Recent round trips kept; the cap uses their median (a high percentile grew the cap on a machine out of CPU, where
 *  more in flight only holds more rows: every round trip was long because the machine was slow, not the network). */
const SAMPLES = 32;

export class InFlight {
  private n = 0;
  /** Requests per ms, the fastest any window allows (0: no rate limit). */
  private readonly peakRate: number;
  private readonly rtts: number[] = [];
  private next = 0;
  private sizedCap = START;
  private readonly wakers = new Set<() => void>();

  /**
   * `windows`: the server's rate windows (the same for each of its operations); `explicit`: --concurrency when given
   * (the cap, instead of the sizing).
   */
  constructor(
    private readonly windows: RateWindow[],
    readonly explicit?: number,
  ) {
    this.peakRate = Math.max(0, ...windows.map((w) => w.limit / w.windowMs));
  }

  /** The most `cap()` can ever be: for bounds fixed up front (connections, the report's reorder buffer). */
  get max(): number {
    return this.explicit ?? (this.windows.length ? AUTO_MAX : UNLIMITED);
  }

  /** The server has a rate limit (requests wait for its windows). */
  get limited(): boolean {
    return this.windows.length > 0;
  }

  /** Requests granted and not finished. */
  get count(): number {
    return this.n;
  }

  /** The most requests that may be in flight now: --concurrency when given (the user's number, not sized down: it
   *  lets a window's whole burst go at once), else sized. */
  cap(): number {
    if (this.explicit !== undefined) return this.explicit;
    return this.windows.length ? this.sizedCap : UNLIMITED;
  }

  hasRoom(): boolean {
    return this.n < this.cap();
  }

  /** A request was granted. */
  start(): void {
    this.n++;
  }

  /** A request granted `ms` ago finished: its place is free, and its round trip is a sample. */
  end(ms: number): void {
    this.sample(ms);
    this.free();
  }

  /** A round trip of `ms`, its place kept (the request is retried). */
  sample(ms: number): void {
    if (this.rtts.length < SAMPLES) this.rtts.push(ms);
    else this.rtts[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    if (this.windows.length) this.sizedCap = this.sized();
  }

  /** A place is free again. */
  free(): void {
    this.n--;
    for (const wake of this.wakers) wake();
  }

  /** `wake` is called whenever a place frees (a limiter waiting for room re-checks). */
  onFree(wake: () => void): void {
    this.wakers.add(wake);
  }

  /** rate × round trip × HEADROOM, at least START, at most AUTO_MAX and what the windows let go in one round trip. */
  private sized(): number {
    const rtt = median(this.rtts);
    let most = AUTO_MAX;
    for (const w of this.windows) most = Math.min(most, w.limit * Math.max(1, Math.ceil(rtt / w.windowMs)));
    const need = Math.ceil(this.peakRate * rtt * HEADROOM) + 1;
    return Math.max(Math.min(START, most), Math.min(need, most));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
