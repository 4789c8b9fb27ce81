/**
 * The batcher: rows of one group fill a batch; a full batch waits until fewer than `capacity()` batches are held
 * (in flight, or built and waiting for the rate limiter: send-rows.ts) and for room in the report (back-pressure),
 * then goes to send-batch. A batch takes a place among the requests in flight only when the limiter grants its
 * request (src/http/in-flight.ts), not here. Rows never wait for a batch once the run is stopping.
 */
import { CliError, EXIT } from '../core/errors.js';
import type { RowOutcome } from '../core/types.js';
import { notSent, type Pending } from './outcome.js';
import { Slots } from './pool.js';
import type { Recorder } from './recorder.js';

export interface BatcherDeps {
  batchSize: number;
  /** The most batches held at once (read at every dispatch and finish: it may grow with the round trips measured). */
  capacity: () => number;
  recorder: Pick<Recorder, 'record' | 'stop' | 'stopping' | 'stopReason' | 'room' | 'flushFailed'>;
  /** Sends one batch and records an outcome for each of its rows (send-batch). */
  send(rows: Pending[]): Promise<void>;
}

export class Batcher {
  private readonly slots: Slots;
  private readonly buffers = new Map<string, Pending[]>();
  private readonly inFlight = new Set<Promise<void>>();
  /** A bug in a stage: the run stops, and it is thrown once the batches in flight are done. */
  private failure: unknown;

  constructor(private readonly d: BatcherDeps) {
    this.slots = new Slots(d.capacity);
  }

  /** Takes one row that passed its checks; returns the dispatch to wait for when the row filled a batch. */
  add(r: Pending): Promise<void> | undefined {
    let buf = this.buffers.get(r.group);
    if (!buf) this.buffers.set(r.group, (buf = []));
    buf.push(r);
    if (buf.length < this.d.batchSize) return undefined;
    this.buffers.delete(r.group);
    return this.dispatch(buf);
  }

  /** Sends the batches not full yet (or, when stopping, reports their rows unsent), then waits for every batch. */
  async finish(): Promise<void> {
    for (const [g, rows] of this.buffers) {
      this.buffers.delete(g);
      if (this.d.recorder.stopping) this.d.recorder.record(rows.map((r): RowOutcome => notSent(r, { error: this.d.recorder.stopReason() })), 'stopped');
      else await this.dispatch(rows);
    }
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
  }

  private async dispatch(rows: Pending[]): Promise<void> {
    await this.slots.acquire();
    await this.d.recorder.room();
    const p = this.d
      .send(rows)
      .catch((e) => {
        this.failure ??= e;
        this.d.recorder.stop(new CliError(`internal error: ${(e as Error).message}`, EXIT.INTERNAL));
      })
      .finally(() => {
        this.slots.release();
        this.inFlight.delete(p);
        this.d.recorder.flushFailed();
      });
    this.inFlight.add(p);
  }
}
