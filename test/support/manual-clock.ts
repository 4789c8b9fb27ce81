/**
 * A manual clock for tests (kept out of src/ so it never ships in dist/): sleep() resolves when time is moved past
 * its deadline, by advance() or, with `{ auto: true }`, by itself.
 */
import { abortError, type Clock } from '../../src/http/clock.js';

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
