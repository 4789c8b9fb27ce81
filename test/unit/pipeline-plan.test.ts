import { describe, expect, it } from 'vitest';
import type { InputSource } from '../../src/input/index.js';
import { actionTotals, emptyPlan, tallied } from '../../src/pipeline/plan.js';
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

describe('actionTotals: the plan line in words', () => {
  const plan = (actions: Record<string, number>, changedFields = 0) => ({
    ...emptyPlan({ columns: [] } as unknown as InputSource),
    actions: new Map(Object.entries(actions)),
    changedFields,
  });

  it('names every action a row can have — a revert of creates deletes, and says so', () => {
    expect(actionTotals(plan({ delete: 2, update: 1 }, 1))).toBe('0 to create, 1 to update (1 field), 0 unchanged, 2 to delete');
  });

  it("keeps sync's line as it was when nothing is deleted", () => {
    expect(actionTotals(plan({ create: 2, update: 2, unchanged: 1, invalid: 3 }, 2))).toBe('2 to create, 2 to update (2 fields), 1 unchanged, 3 invalid');
  });
});
