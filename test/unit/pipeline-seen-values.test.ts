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
