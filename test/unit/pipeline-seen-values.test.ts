import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckedRow } from '../../src/operations/types.js';
import { SeenValues } from '../../src/pipeline/seen-values.js';
import { rowsInFile } from '../../src/pipeline/unique-check.js';

/** One text at a time: the row that had `text` first (undefined: none, and `row` is remembered for it). */
function firstOr(seen: SeenValues, text: string, row: number): number | undefined {
  const out: (number | undefined)[] = [];
  seen.firstsOf([text], [{ row }], out);
  return out[0];
}

describe('SeenValues (the dry run’s repeated-unique-value check)', () => {
  it('answers the first row of each of 200,000 values across its growth, like a Map of the strings', () => {
    const seen = new SeenValues();
    const map = new Map<string, number>();
    for (let row = 1; row <= 300_000; row++) {
      // Every third row repeats an earlier value; values include near-identical and non-ASCII texts.
      const text = row % 3 === 0 ? `SW-${Math.floor(row / 7)}` : `SW-${row}${row % 5 === 0 ? '交换机' : ''}`;
      const expected = map.get(text);
      if (expected === undefined) map.set(text, row);
      expect(firstOr(seen, text, row)).toBe(expected);
    }
    expect(map.size).toBeGreaterThan(200_000);
  });

  it('finds a value seen before any number of its table\'s growths: each value repeated after all 400,000 were added', () => {
    const seen = new SeenValues();
    const n = 400_000; // ~1,560 values a shard: each shard grows from 32 slots about ten times
    const misses: string[] = [];
    for (let i = 0; i < n; i++) if (firstOr(seen, `v${i}`, i + 2) !== undefined) misses.push(`v${i} taken for a repeat`);
    for (let i = 0; i < n; i++) {
      const first = firstOr(seen, `v${i}`, n + i + 2);
      if (first !== i + 2) misses.push(`v${i}: row ${first}, not ${i + 2}`);
    }
    expect(misses.slice(0, 5)).toEqual([]);
  });

  it('remembers row numbers beyond 2³¹', () => {
    const seen = new SeenValues();
    expect(firstOr(seen, 'x', 4_000_000_000)).toBeUndefined();
    expect(firstOr(seen, 'x', 1)).toBe(4_000_000_000);
  });

  it('tells apart texts that differ in one character or only in case', () => {
    const seen = new SeenValues();
    expect(firstOr(seen, 'a1', 1)).toBeUndefined();
    expect(firstOr(seen, 'a2', 2)).toBeUndefined();
    expect(firstOr(seen, 'A1', 3)).toBeUndefined();
    expect(firstOr(seen, '', 4)).toBeUndefined();
    expect(firstOr(seen, 'a1', 5)).toBe(1);
    expect(firstOr(seen, '', 6)).toBeUndefined(); // an empty value is no value: never a repeat
  });

  it.each([0, 1_700, 50_000_000])('answers a chunk in order, repeats inside the chunk included, like one value at a time (chunks of 1 to 700; sized for %i values)', (expected) => {
    const map = new Map<string, number>();
    const seen = new SeenValues(expected);
    const out: (number | undefined)[] = [];
    let row = 1;
    const wrong: string[] = [];
    for (const size of [1, 7, 500, 700, 3, 500]) {
      const texts = Array.from({ length: size }, (_, i) => (i % 4 === 3 ? `v${Math.floor((row + i) / 3)}` : i % 9 === 8 ? '' : `v${row + i}`));
      const rows = texts.map((_, i) => ({ row: row + i }));
      seen.firstsOf(texts, rows, out);
      texts.forEach((t, i) => {
        const expected = t === '' ? undefined : map.get(t);
        if (t !== '' && expected === undefined) map.set(t, row + i);
        if (out[i] !== expected) wrong.push(`row ${row + i} "${t}": ${out[i]}, not ${expected}`);
      });
      expect(out).toHaveLength(size);
      row += size;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect([...map.values()].length).toBeGreaterThan(1000);
  });
});

describe('rowsInFile (the size the set of values is made for)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rows-in-file-'));
  const values = (i: number) => ({ bk_inst_name: `switch-${i}`, bk_asset_id: `SW-${i}`, port_count: i % 48, note: i % 3 ? '' : '机房 A' });
  const checked = (n: number): CheckedRow[] => Array.from({ length: n }, (_, i) => ({ row: i + 1, values: values(i + 1), payload: {}, group: '', errors: [] }));

  it('judges a CSV and an NDJSON file of 2,000 rows from their first 100 within a fifth', () => {
    const csv = join(dir, 'a.csv');
    writeFileSync(csv, 'bk_inst_name,bk_asset_id,port_count,note\n' + checked(2000).map((r) => Object.values(r.values).join(',') + '\n').join(''));
    const ndjson = join(dir, 'a.ndjson');
    writeFileSync(ndjson, checked(2000).map((r) => JSON.stringify(r.values) + '\n').join(''));
    for (const [path, format] of [[csv, 'csv'], [ndjson, 'ndjson']] as const) {
      const n = rowsInFile(path, format, checked(100));
      expect(n, format).toBeGreaterThan(1600);
      expect(n, format).toBeLessThan(2400);
    }
  });

  it('is 0 when the file cannot be read or the rows hold nothing', () => {
    expect(rowsInFile(join(dir, 'missing.csv'), 'csv', checked(10))).toBe(0);
    const empty = join(dir, 'e.csv');
    writeFileSync(empty, 'a\n\n');
    expect(rowsInFile(empty, 'csv', [{ row: 1, values: {}, payload: {}, group: '', errors: [] }])).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
