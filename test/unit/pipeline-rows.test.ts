/** rows: the input read in chunks, checked and resolved — the one stage both passes read through. */
import { describe, expect, it } from 'vitest';
import type { CheckedRow } from '../../src/operations/types.js';
import { checkedRows, headerProblems, type RowItem } from '../../src/pipeline/rows.js';
import { allOk, fakeSession, memorySource, rec } from '../support/pipeline-fakes.js';

async function collect(gen: AsyncGenerator<RowItem[]>): Promise<RowItem[][]> {
  const out: RowItem[][] = [];
  for await (const chunk of gen) out.push(chunk);
  return out;
}

const records = (n: number) => Array.from({ length: n }, (_, i) => rec(i + 1));

describe('checkedRows', () => {
  it('yields every record once, in input order, in chunks, each checked', async () => {
    const chunks = await collect(checkedRows(memorySource(records(12), 5), fakeSession(allOk), { skip: () => false, resolve: () => true, chunk: 4 }));
    expect(chunks.map((c) => c.map((x) => x.rec.row))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
    expect(chunks.flat().every((x) => x.checked?.payload.name === `n${x.rec.row}`)).toBe(true);
  });

  it('a record that could not be read is a row with that error; the operation never sees it', async () => {
    const session = fakeSession(allOk);
    const seen: number[] = [];
    const check = session.check;
    session.check = (r) => (seen.push(r.row), check(r));
    const [chunk] = await collect(checkedRows(memorySource([rec(1), rec(2, {}, 'row 2 has 3 cells, the header 2')]), session, { skip: () => false, resolve: () => true }));
    expect(chunk![1]!.checked).toEqual({ row: 2, values: {}, payload: {}, group: '', errors: [{ message: 'row 2 has 3 cells, the header 2' }] });
    expect(seen).toEqual([1]);
  });

  it('skipped rows come through unchecked, and are not resolved', async () => {
    const session = fakeSession(allOk);
    const resolved: number[][] = [];
    session.resolve = async (rows: CheckedRow[]) => void resolved.push(rows.map((r) => r.row));
    const chunks = await collect(checkedRows(memorySource(records(6)), session, { skip: (r) => r.row % 2 === 0, resolve: () => true, chunk: 3 }));
    expect(chunks.flat().map((x) => [x.rec.row, !!x.checked])).toEqual([[1, true], [2, false], [3, true], [4, false], [5, true], [6, false]]);
    expect(resolved).toEqual([[1, 3], [5]]);
  });

  it('resolves each chunk in one call, invalid rows too (every problem of a row is reported); not once the run stops', async () => {
    const session = fakeSession(allOk);
    const resolved: number[][] = [];
    session.resolve = async (rows: CheckedRow[]) => void resolved.push(rows.map((r) => r.row));
    let stopping = false;
    const recs = [rec(1, { bad: true }), ...records(5).slice(1)];
    for await (const chunk of checkedRows(memorySource(recs), session, { skip: () => false, resolve: () => !stopping, chunk: 2 })) {
      if (chunk[0]!.rec.row === 3) stopping = true;
    }
    expect(resolved).toEqual([[1, 2], [3, 4]]);
  });

  it('stops reading when the stop signal aborts (pass 1), keeping the rows already read', async () => {
    const stop = new AbortController();
    const rows: number[] = [];
    for await (const chunk of checkedRows(memorySource(records(10), 3), fakeSession(allOk), { skip: () => false, resolve: () => true, stop: stop.signal, chunk: 2 })) {
      rows.push(...chunk.map((x) => x.rec.row));
      if (rows.length >= 4) stop.abort();
    }
    expect(rows).toEqual([1, 2, 3, 4]);
  });
});

describe('headerProblems', () => {
  it('adds the columns the operation requires that the header lacks, after its own problems', () => {
    const session = fakeSession(allOk);
    session.checkColumns = (cols) => cols.filter((c) => c === 'x').map((c) => ({ field: c, message: `unknown column "${c}"` }));
    Object.assign(session, { required: [{ column: '_id', why: 'every row must carry the record id' }] });
    expect(headerProblems(session, ['x', 'name']).map((p) => p.message)).toEqual(['unknown column "x"', 'column "_id" is missing: every row must carry the record id']);
    expect(headerProblems(session, ['_id', 'name'])).toEqual([]);
  });
});
