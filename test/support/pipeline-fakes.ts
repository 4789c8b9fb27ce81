/**
 * Fakes for the pipeline's stage tests: an in-memory input, a session whose server is a function of the rows sent,
 * a manual clock (time moves only when the test says), a progress display that keeps its updates, and a recorder
 * with no files.
 */
import type { InputRecord, RowOutcome } from '../../src/core/types.js';
import type { InputSource } from '../../src/input/index.js';
import type { BatchVerdict, CheckedRow, Reconciled, Session } from '../../src/operations/types.js';
import type { Pending } from '../../src/pipeline/outcome.js';
import { Recorder, type RecorderOptions } from '../../src/pipeline/recorder.js';
import type { Progress, ProgressState } from '../../src/ui/progress.js';

export const rec = (row: number, values: Record<string, unknown> = { name: `n${row}` }, error?: string): InputRecord => ({
  row,
  line: row + 1,
  values,
  ...(error ? { error } : {}),
});

/** A source over records in memory, read in chunks of `chunk`. */
export function memorySource(records: InputRecord[], chunk = 7): InputSource {
  return {
    file: 'mem.csv',
    path: 'mem.csv',
    format: 'csv',
    columns: ['name'],
    hints: {},
    delimiter: ',',
    encoding: 'utf-8',
    bom: false,
    emptyRows: 0,
    notes: () => [],
    async *records() {
      yield* records;
    },
    async *batches() {
      for (let i = 0; i < records.length; i += chunk) yield records.slice(i, i + chunk);
    },
    close: async () => {},
  };
}

export const pending = (row: number, extra: Partial<Pending> = {}): Pending => ({
  row,
  values: { name: `n${row}` },
  payload: { name: `n${row}` },
  group: '',
  errors: [],
  ...extra,
});

export const rows = (n: number, from = 1): Pending[] => Array.from({ length: n }, (_, i) => pending(from + i));

/** What the fake server is asked: every request, with the rows it carried. */
export interface FakeServer {
  requests: number[][];
  reconciles: number[][];
}

/**
 * A session whose server answers `answer(rows)` (or throws what it throws); `reconcile`, when given, answers the
 * look-ups after an unclear answer.
 */
export function fakeSession(
  answer: (rows: CheckedRow[], n: number) => BatchVerdict | Promise<BatchVerdict>,
  reconcile?: (rows: CheckedRow[]) => Reconciled[] | Promise<Reconciled[]>,
): Session & { server: FakeServer } {
  const server: FakeServer = { requests: [], reconciles: [] };
  const s: Session & { server: FakeServer } = {
    server,
    uniqueKey: 'name',
    checkColumns: () => [],
    check: (r) => ({ row: r.row, values: r.values, payload: { ...r.values }, group: String(r.values.group ?? ''), errors: r.values.bad ? [{ message: `bad ${r.row}` }] : [] }),
    async send(batch) {
      server.requests.push(batch.map((r) => r.row));
      return answer(batch, server.requests.length);
    },
  };
  if (reconcile) {
    s.reconcile = async (batch) => {
      server.reconciles.push(batch.map((r) => r.row));
      return reconcile(batch);
    };
  }
  return s;
}

export const allOk = (batch: CheckedRow[]): BatchVerdict => ({ kind: 'rows', results: batch.map((r) => ({ ok: true, id: r.row * 10 })) });

/** Time that moves only when the test says. */
export class ManualTime {
  t = 0;
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export class FakeProgress implements Progress {
  updates: ProgressState[] = [];
  update(s: ProgressState): void {
    this.updates.push({ ...s });
  }
  wait(): void {}
  log(): void {}
  stop(): void {}
}

/** A recorder with no report, no --failed file and no in-flight log. */
export async function memoryRecorder(o: Partial<RecorderOptions> = {}): Promise<Recorder & { outcomes: RowOutcome[] }> {
  const r = (await Recorder.open({
    reportPath: null,
    format: 'csv',
    inputColumns: ['name'],
    inflight: false,
    total: 0,
    progress: new FakeProgress(),
    now: new ManualTime().now,
    window: 20_000,
    ...o,
  })) as Recorder & { outcomes: RowOutcome[] };
  r.outcomes = [];
  const record = r.record.bind(r);
  r.record = (outs, how) => {
    r.outcomes.push(...outs);
    record(outs, how);
  };
  return r;
}

/** Each row's outcome, by row number; fails when a row has none or more than one. */
export function byRow(outs: RowOutcome[], n: number): RowOutcome[] {
  const seen = new Map<number, RowOutcome>();
  for (const o of outs) {
    if (seen.has(o.row)) throw new Error(`row ${o.row} has two outcomes`);
    seen.set(o.row, o);
  }
  return Array.from({ length: n }, (_, i) => {
    const o = seen.get(i + 1);
    if (!o) throw new Error(`row ${i + 1} has no outcome`);
    return o;
  });
}
