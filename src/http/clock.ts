/**
 * Time, injectable. Everything in src/http that waits (rate limiter, backoff, shared 429 pause,
 * token renewal) asks a Clock, so tests run "waits" of minutes in microseconds.
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with an AbortError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Rejection of anything in src/http that stopped waiting because its AbortSignal fired. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

export function abortError(signal?: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal?.reason });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets every pending promise chain run (setImmediate runs after the microtask queue drains). */
async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A manual clock for tests: sleep() resolves when advance() passes its deadline.
 *
 * With `{ auto: true }` nobody has to call advance(): whenever sleepers are pending, time jumps to the
 * earliest deadline on the next turn of the event loop. Order of wake-ups is kept, so code under test
 * sees a consistent timeline; a "wait of 30 s" takes microseconds.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];
  private autoScheduled = false;
  private readonly auto: boolean;

  constructor(start = 0, opts: { auto?: boolean } = {}) {
    this.t = start;
    this.auto = opts.auto ?? false;
  }

  now(): number {
    return this.t;
  }

  /** Deadlines of the sleepers still waiting (for assertions). */
  get pending(): number[] {
    return this.timers.map((x) => x.at).sort((a, b) => a - b);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(abortError(signal));
      };
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      if (this.auto) this.scheduleAuto();
    });
  }

  /** Moves time forward by `ms`, waking sleepers in deadline order and letting each react before the next. */
  async advance(ms: number): Promise<void> {
    const target = this.t + Math.max(0, ms);
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.fire(next.at);
      await settle();
    }
    this.t = Math.max(this.t, target);
    await settle();
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const x of this.timers) if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    return best;
  }

  /** Sets the time to `at` and wakes every sleeper due by then, in order. */
  private fire(at: number): void {
    this.t = Math.max(this.t, at);
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
  }

  private scheduleAuto(): void {
    if (this.autoScheduled) return;
    this.autoScheduled = true;
    // Two turns: let I/O callbacks and promise chains that are already under way land first.
    setImmediate(() =>
      setImmediate(() => {
        this.autoScheduled = false;
        const next = this.earliest();
        if (!next) return;
        this.fire(next.at);
        if (this.timers.length) this.scheduleAuto();
      }),
    );
  }
}
