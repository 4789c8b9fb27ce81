/** batcher: batches by group, at most `capacity()` held, held back by the report, and stopping. */
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/pipeline/batcher.js';
import type { Pending } from '../../src/pipeline/outcome.js';
import { memoryRecorder, pending } from '../support/pipeline-fakes.js';

/** A send whose batches finish only when the test says. */
function heldSend() {
  const sent: number[][] = [];
  const open: Array<() => void> = [];
  let inFlight = 0;
  let most = 0;
  const send = (rows: Pending[]) => {
    sent.push(rows.map((r) => r.row));
    inFlight++;
    most = Math.max(most, inFlight);
    return new Promise<void>((res) =>
      open.push(() => {
        inFlight--;
        res();
      }),
    );
  };
  return { send, sent, open, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('batcher', () => {
  it('fills a batch per group; rows of different groups never share one; finish() sends the partial ones', async () => {
    const recorder = await memoryRecorder();
    const sent: Array<[string, number[]]> = [];
    const b = new Batcher({ batchSize: 2, capacity: () => 4, recorder, send: async (rows) => void sent.push([rows[0]!.group, rows.map((r) => r.row)]) });
    const groups = ['a', 'b', 'a', 'a', 'b', 'c'];
    for (const [i, g] of groups.entries()) await b.add(pending(i + 1, { group: g }));
    expect(sent).toEqual([['a', [1, 3]], ['b', [2, 5]]]);
    await b.finish();
    expect(sent).toEqual([['a', [1, 3]], ['b', [2, 5]], ['a', [4]], ['c', [6]]]);
  });

  it('keeps at most `capacity()` batches held: a full batch waits for a slot', async () => {
    const recorder = await memoryRecorder();
    const s = heldSend();
    const b = new Batcher({ batchSize: 1, capacity: () => 2, recorder, send: s.send });
    await b.add(pending(1));
    await b.add(pending(2));
    let third = false;
    const p3 = b.add(pending(3))!.then(() => (third = true));
    await tick();
    expect([s.sent.length, third]).toEqual([2, false]);
    s.open.shift()!();
    await p3;
    expect(s.sent).toEqual([[1], [2], [3]]);
    const done = b.finish();
    for (const f of s.open.splice(0)) f();
    await tick();
    s.open.splice(0).forEach((f) => f());
    await done;
    expect(s.most()).toBe(2);
  });

  it('waits for room in the report before sending (back-pressure)', async () => {
    const recorder = await memoryRecorder();
    let release!: () => void;
    recorder.room = () => new Promise<void>((r) => (release = r));
    const sent: number[][] = [];
    const b = new Batcher({ batchSize: 1, capacity: () => 4, recorder, send: async (rows) => void sent.push(rows.map((r) => r.row)) });
    const p = b.add(pending(1))!;
    await tick();
    expect(sent).toEqual([]);
    release();
    await p;
    expect(sent).toEqual([[1]]);
  });

  it('once the run stops, the rows still in a batch are reported unsent, and nothing more is sent', async () => {
    const recorder = await memoryRecorder();
    const sent: number[][] = [];
    const b = new Batcher({ batchSize: 3, capacity: () => 1, recorder, send: async (rows) => void sent.push(rows.map((r) => r.row)) });
    await b.add(pending(1));
    await b.add(pending(2, { verify: true }));
    recorder.stop('interrupt');
    await b.finish();
    expect(sent).toEqual([]);
    expect(recorder.outcomes.map((o) => [o.row, o.status, o.error_code])).toEqual([
      [1, 'unsent', undefined],
      [2, 'failed', 'outcome_unknown'], // an earlier run may have applied it: still to be checked
    ]);
    expect(recorder.groups.list()).toHaveLength(1);
  });

  it('a bug in a batch stops the run (exit 1) and is thrown once the batches in flight are done', async () => {
    const recorder = await memoryRecorder();
    const b = new Batcher({ batchSize: 1, capacity: () => 2, recorder, send: async (rows) => {
      if (rows[0]!.row === 1) throw new TypeError('boom');
    } });
    await b.add(pending(1));
    await b.add(pending(2));
    await expect(b.finish()).rejects.toThrow('boom');
    expect(recorder.cause).toMatchObject({ kind: 'failed', error: { message: 'internal error: boom', exitCode: 1 } });
  });
});

describe('batcher capacity', () => {
  it('is read again as batches finish: when it grows, waiting batches go in at once', async () => {
    const recorder = await memoryRecorder();
    const s = heldSend();
    let capacity = 1;
    const b = new Batcher({ batchSize: 1, capacity: () => capacity, recorder, send: s.send });
    await b.add(pending(1));
    const waiting = [b.add(pending(2))!, b.add(pending(3))!];
    await tick();
    expect(s.sent).toEqual([[1]]);
    capacity = 3; // e.g. the round trips measured so far need more in flight
    s.open.shift()!();
    await Promise.all(waiting);
    expect(s.sent).toEqual([[1], [2], [3]]);
    const done = b.finish();
    for (const f of s.open.splice(0)) f();
    await done;
    expect(s.most()).toBe(2);
  });
});
