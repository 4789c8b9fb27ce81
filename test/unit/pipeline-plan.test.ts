import { describe, expect, it } from 'vitest';
import type { InputSource } from '../../src/input/index.js';
import { emptyPlan, tallied } from '../../src/pipeline/plan.js';
import type { RowItem } from '../../src/pipeline/rows.js';

const rec = (row: number, values: Record<string, unknown>): RowItem => ({
  rec: { row, line: row, values: Object.assign(Object.create(null), values) as Record<string, unknown> },
  checked: { row, values, payload: {}, group: '', errors: [] },
});

async function* chunks(...cs: RowItem[][]): AsyncGenerator<RowItem[]> {
  yield* cs;
}

describe('tallied: the plan of JSON records', () => {
  it('lists every key in the order first seen, whatever order or subset each record has', async () => {
    const source = { columns: null } as unknown as InputSource;
    const plan = emptyPlan(source);
    const rows = chunks(
      [rec(1, { a: 1, b: 2 }), rec(2, { a: 1, b: 2 }), rec(3, { b: 1, a: 2, c: 3 })],
      [rec(4, { a: 1 }), rec(5, { a: 1, b: 2, c: 3 }), rec(6, { a: 1, b: 2, c: 3, d: 4 }), rec(7, {}), rec(8, { e: 5, a: 1 })],
    );
    let n = 0;
    for await (const chunk of tallied(plan, rows, source)) n += chunk.length;
    expect(n).toBe(8);
    expect(plan.columns).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([plan.total, plan.valid, plan.invalid]).toEqual([8, 8, 0]);
  });

  it('stops collecting keys at about 1,000', async () => {
    const source = { columns: null } as unknown as InputSource;
    const plan = emptyPlan(source);
    const wide = (from: number) => Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${from + i}`, i]));
    for await (const chunk of tallied(plan, chunks([rec(1, wide(0)), rec(2, wide(600)), rec(3, wide(1200))]), source)) void chunk;
    expect(plan.columns).toHaveLength(1200);
  });
});
