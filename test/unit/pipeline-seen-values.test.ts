import { describe, expect, it } from 'vitest';
import { SeenValues } from '../../src/pipeline/seen-values.js';

describe('SeenValues (the dry run’s repeated-unique-value check)', () => {
  it('answers the first row of each of 200,000 values across its growth, like a Map of the strings', () => {
    const seen = new SeenValues();
    const map = new Map<string, number>();
    for (let row = 1; row <= 300_000; row++) {
      // Every third row repeats an earlier value; values include near-identical and non-ASCII texts.
      const text = row % 3 === 0 ? `SW-${Math.floor(row / 7)}` : `SW-${row}${row % 5 === 0 ? '交换机' : ''}`;
      const expected = map.get(text);
      if (expected === undefined) map.set(text, row);
      expect(seen.firstOr(text, row)).toBe(expected);
    }
    expect(map.size).toBeGreaterThan(200_000);
  });

  it('finds a value seen before any number of its table\'s growths: each value repeated after all 400,000 were added', () => {
    const seen = new SeenValues();
    const n = 400_000; // ~1,560 values a shard: each shard grows from 32 slots about ten times
    const misses: string[] = [];
    for (let i = 0; i < n; i++) if (seen.firstOr(`v${i}`, i + 2) !== undefined) misses.push(`v${i} taken for a repeat`);
    for (let i = 0; i < n; i++) {
      const first = seen.firstOr(`v${i}`, n + i + 2);
      if (first !== i + 2) misses.push(`v${i}: row ${first}, not ${i + 2}`);
    }
    expect(misses.slice(0, 5)).toEqual([]);
  });

  it('remembers row numbers beyond 2³¹', () => {
    const seen = new SeenValues();
    expect(seen.firstOr('x', 4_000_000_000)).toBeUndefined();
    expect(seen.firstOr('x', 1)).toBe(4_000_000_000);
  });

  it('tells apart texts that differ in one character or only in case', () => {
    const seen = new SeenValues();
    expect(seen.firstOr('a1', 1)).toBeUndefined();
    expect(seen.firstOr('a2', 2)).toBeUndefined();
    expect(seen.firstOr('A1', 3)).toBeUndefined();
    expect(seen.firstOr('', 4)).toBeUndefined();
    expect(seen.firstOr('a1', 5)).toBe(1);
    expect(seen.firstOr('', 6)).toBe(4);
  });
});
