import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InputRecord } from '../../src/core/types.js';
import { openInput } from '../../src/input/index.js';
import { jsonBatches } from '../../src/input/json.js';
import { findRows } from '../../src/input/json-export.js';
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

  it('cuts JSON elements right wherever the chunks end (escapes, braces in strings, nesting, scalars)', async () => {
    const elems = [
      { a: 'quote \\" brace } bracket ] \\\\', b: [1, { c: '{' }], d: '\\' },
      { '': '', e: 'line\\nbreak', f: '中文 \\u00e9 ✓', g: null },
      { h: '}{][', i: { j: { k: [[], {}] } } },
    ];
    const text = '[\n' + elems.map((e) => JSON.stringify(e)).join(',\n') + ', 7, "s\\"", {"z":1}\n]\n';
    const want = JSON.parse(text) as unknown[];
    const read = async (pieces: string[]) => {
      async function* chunks() {
        yield* pieces;
      }
      const recs: InputRecord[] = [];
      for await (const b of jsonBatches(chunks(), 'x.json')) recs.push(...b);
      return recs;
    };
    for (let cut = 0; cut <= text.length; cut++) {
      const recs = await read([text.slice(0, cut), text.slice(cut)]);
      expect(recs.length, `cut at ${cut}`).toBe(want.length);
      for (let k = 0; k < 3; k++) expect({ ...recs[k]!.values }, `cut at ${cut}`).toEqual(want[k]);
      expect(recs.slice(3).map((r) => r.error)).toEqual(['row 4: expected an object, got a number', 'row 5: expected an object, got a string', undefined]);
      expect(recs.map((r) => r.line)).toEqual([2, 3, 4, 4, 4, 4]);
    }
    const byChar = await read([...text]);
    expect(byChar.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('skips an API export\'s prefix and keeps its tail right wherever the chunks end', async () => {
    const rows = [{ a: 'x ] } "', b: [1] }, { a: '{"info":[' }];
    const text = `{"code": 0, "msg": "a [ { \\" b",\n "data": {"count": 2, "info": [\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n], "more": {"x": [1]}}}\n`;
    const exp = findRows(text);
    if (exp === 'more' || !('path' in exp)) throw new Error('no rows found');
    expect(exp.path).toBe('data.info');
    for (let cut = 0; cut <= text.length; cut++) {
      async function* chunks() {
        yield text.slice(0, cut);
        yield text.slice(cut);
      }
      const recs: InputRecord[] = [];
      for await (const b of jsonBatches(chunks(), 'x.json', exp)) recs.push(...b);
      expect(recs.map((r) => [r.row, r.line, { ...r.values }]), `cut at ${cut}`).toEqual([[1, 3, rows[0]], [2, 4, rows[1]]]);
    }
    // Walking a cut-off start asks for more, at every cut before the array.
    for (let cut = 0; cut < exp.prefix.length; cut++) expect(findRows(text.slice(0, cut)), `cut at ${cut}`).toBe('more');
  });

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
