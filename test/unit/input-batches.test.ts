import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InputRecord } from '../../src/core/types.js';
import { openInput } from '../../src/input/index.js';
import { collect, tempDir } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

const N = 30_000; // several 32 KB read chunks

function files(): Array<[string, string]> {
  let csv = 'name,n\n';
  let ndjson = '';
  const json: string[] = [];
  for (let i = 1; i <= N; i++) {
    csv += i % 997 === 0 ? `"sw\n${i}",${i}\n` : `sw-${i},${i}\n`;
    ndjson += JSON.stringify({ name: `sw-${i}`, n: i }) + '\n';
    json.push(JSON.stringify({ name: `sw-${i}`, n: i }));
  }
  return [
    ['b.csv', csv],
    ['b.ndjson', ndjson],
    ['b.json', `[\n${json.join(',\n')}\n]\n`],
  ];
}

async function batches(it: AsyncIterable<InputRecord[]>): Promise<InputRecord[][]> {
  const out: InputRecord[][] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('InputSource.batches()', () => {
  for (const [name, text] of files()) {
    it(`gives the same records as records(), in chunk-sized arrays, and can be read again (${name})`, async () => {
      const file = await t.write(name, text);
      const src = await openInput({ file });
      const got = await batches(src.batches());
      expect(got.length).toBeGreaterThan(3);
      expect(got.every((b) => b.length > 0)).toBe(true);
      const flat = got.flat();
      expect(flat.map((r) => r.row)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      const one = await collect(src.records());
      expect(one.map((r) => [r.row, r.line, { ...r.values }])).toEqual(flat.map((r) => [r.row, r.line, { ...r.values }]));
      expect((await batches(src.batches())).flat().length).toBe(N);
      await src.close();
    });
  }

  it('hands on the JSON elements before a syntax error, then throws', async () => {
    const file = await t.write('bad.json', '[{"a":1},{"a":2},{"a":3} {"a":4}]');
    const src = await openInput({ file });
    const seen: number[] = [];
    let err: unknown;
    try {
      for await (const b of src.batches()) for (const r of b) seen.push(r.row);
    } catch (e) {
      err = e;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect((err as Error).message).toContain('expected "," or "]" after element 3');
    await src.close();
  });
});
