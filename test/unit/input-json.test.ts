import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInput } from '../../src/input/index.js';
import { collect, readAll, tempDir, usageError } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

describe('JSON array input', () => {
  it('reads an array of objects with native types, row = position, line = where the element starts', async () => {
    const file = await t.write(
      'a.json',
      '[\n  {"name": "交换机-1", "port_count": 48, "is_managed": true, "tags": ["core"], "extra": {"a": "]}"}},\n  {"name": "sw2", "note": "quote \\" and \\\\ backslash", "n": null}\n]\n',
    );
    const src = await openInput({ file });
    expect(src.format).toBe('json');
    expect(src.columns).toBe(null);
    const recs = await collect(src.records());
    expect(recs.map((r) => [r.row, r.line])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect({ ...recs[0]!.values }).toEqual({ name: '交换机-1', port_count: 48, is_managed: true, tags: ['core'], extra: { a: ']}' } });
    expect({ ...recs[1]!.values }).toEqual({ name: 'sw2', note: 'quote " and \\ backslash', n: null });
    expect(Object.getPrototypeOf(recs[0]!.values)).toBe(null);
    expect((await collect(src.records())).length).toBe(2); // re-readable
    await src.close();
  });

  it("keeps a one-line element's own text (valuesJson), not one that spans lines", async () => {
    const file = await t.write('text.json', '[{"a":1}, {"a" :2 , "b":[1,{"c":"}"}]},\n{"a":\n3}, {"n":1.50e1}]');
    const recs = await readAll({ file });
    expect(recs.map((r) => r.valuesJson)).toEqual(['{"a":1}', '{"a" :2 , "b":[1,{"c":"}"}]}', undefined, '{"n":1.50e1}']);
    for (const r of recs) if (r.valuesJson !== undefined) expect(JSON.parse(r.valuesJson)).toEqual({ ...r.values });
  });

  it('reads an empty array', async () => {
    expect(await readAll({ file: await t.write('empty-array.json', ' [ ] ') })).toEqual([]);
  });

  it('turns non-object elements into error records and keeps going', async () => {
    const file = await t.write('mixed.json', '[{"a":1}, 2, "s", null, [1], true, {"a":7}]');
    const recs = await readAll({ file });
    expect(recs.map((r) => r.error ?? 'ok')).toEqual([
      'ok',
      'row 2: expected an object, got a number',
      'row 3: expected an object, got a string',
      'row 4: expected an object, got null',
      'row 5: expected an object, got an array',
      'row 6: expected an object, got a boolean',
      'ok',
    ]);
    expect(recs[6]).toMatchObject({ row: 7 });
    expect(Object.keys(recs[1]!.values)).toEqual([]);
  });

  it('stops on a syntax error with the line where it is', async () => {
    const file = await t.write('syntax.json', '[\n{"a": 1},\n{"b": 2,\n "c" 3}\n]');
    const src = await openInput({ file });
    const err = await usageError(collect(src.records()));
    expect(err.message).toMatch(/^.*syntax\.json line 4: invalid JSON: /);
    await src.close();
    for (const [text, line, what] of [
      ['[{"a":1},\n\n{"a":2}', 3, 'ends before the array is closed'],
      ['[{"a":1},]', 1, 'unexpected "]"'],
      ['[{"a":1}\n{"a":2}]', 2, 'expected "," or "]"'],
      ['[{"a":1}]\nx', 2, 'after the end of the array'],
      ['[{"a":1},\n\n{"a":tru}]', 3, 'invalid JSON'],
    ] as const) {
      const err2 = await usageError(readAll({ file: await t.write('s.json', text) }));
      expect(err2.message).toContain(`line ${line}:`);
      expect(err2.message).toContain(what);
    }
  });

  it('cuts flat one-line objects whole and every other element step by step: the same values and lines as JSON.parse', async () => {
    // Strings that look like structure, escapes, nested objects, elements over several lines, arrays of scalars,
    // elements cut by the 32 KB read chunks (the file is ~1 MB): every element must come out as JSON.parse has it.
    const tricky = ['}', '{', '},{', '"}', '\\', '\\"}', ']', '[{', '"a":1}', 'é交换机', '\u2028'];
    const elements: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const text = `v${i}${tricky[i % tricky.length]}${'x'.repeat(i % 97)}`;
      const flat = JSON.stringify({ id: i, text, tags: [i, `t${i}`], ok: i % 2 === 0, n: null });
      if (i % 7 === 3) elements.push(JSON.stringify({ id: i, nested: { text } })); // an object inside
      else if (i % 11 === 5) elements.push(JSON.stringify({ id: i, text }, null, 2)); // over several lines
      else if (i % 13 === 6) elements.push(`{ "id" : ${i} ,\t"text":${JSON.stringify(text)} }`); // spaced, tab
      else elements.push(flat);
    }
    const body = '[\n' + elements.map((e, i) => (i % 5 === 4 ? `${e}, ` : `${e},\n`)).join('').replace(/,[\n ]*$/, '\n]\n');
    const file = await t.write('tricky.json', body);
    const recs = await readAll({ file });
    const expected = JSON.parse(body) as object[];
    expect(recs.length).toBe(expected.length);
    expect(recs.map((r) => r.error).filter(Boolean)).toEqual([]);
    // Where each element starts: the line of its first character.
    const lines: number[] = [];
    let line = 1;
    let at = body.indexOf('\n') + 1;
    line++;
    for (const e of elements) {
      const start = body.indexOf(e, at);
      for (let k = body.indexOf('\n', at); k !== -1 && k < start; k = body.indexOf('\n', k + 1)) line++;
      lines.push(line);
      line += e.split('\n').length - 1;
      at = start + e.length;
    }
    for (let i = 0; i < recs.length; i++) {
      expect({ ...recs[i]!.values }, `element ${i + 1}`).toEqual(expected[i]);
      expect(recs[i]!.line, `line of element ${i + 1}`).toBe(lines[i]);
    }
  });

  it('stops on a syntax error inside a one-line object with its line and element', async () => {
    const text = '[\n{"a":1},\n{"a":2},\n{"a":"x" "b":3},\n{"a":4}\n]\n';
    const err = await usageError(readAll({ file: await t.write('flat-syntax.json', text) }));
    expect(err.message).toMatch(/flat-syntax\.json line 4: invalid JSON: .*\(in element 3\)/);
  });

  it('rejects a top level that is not an array or an API export at open, pointing to NDJSON', async () => {
    const file = await t.write('object.json', '  {"a": 1}\n');
    const err = await usageError(openInput({ file }));
    expect(err.message).toContain('object.json: a JSON object with no array of rows at data, data.info, data.items, items or info (keys: a)');
    expect(err.hint).toContain('for one object per line use .ndjson');
    expect((await usageError(openInput({ file: await t.write('scalar.json', '5') }))).message).toContain('expected a JSON array of objects; for one object per line use .ndjson');
    expect((await usageError(openInput({ file: await t.write('nothing.json', '') }))).message).toContain('is empty');
  });

  it('streams a large array across many read chunks', async () => {
    const n = 20_000;
    const parts: string[] = [];
    for (let i = 1; i <= n; i++) parts.push(JSON.stringify({ id: i, name: `交换机-${i}`, s: 'a"]}[{,\\' }));
    const file = await t.write('big.json', '[\n' + parts.join(',\n') + '\n]\n');
    const recs = await readAll({ file });
    expect(recs.length).toBe(n);
    expect(recs.every((r, i) => r.row === i + 1 && r.line === i + 2 && r.values.id === i + 1 && r.values.s === 'a"]}[{,\\')).toBe(true);
  });

  it('keeps __proto__, constructor and prototype keys as data', async () => {
    const file = await t.write('proto.json', '[{"__proto__": {"polluted": 1}, "constructor": "c", "prototype": 1}]');
    const [rec] = await readAll({ file });
    expect(Object.getPrototypeOf(rec!.values)).toBe(null);
    expect(Object.keys(rec!.values)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(rec!.values['__proto__']).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('NDJSON input', () => {
  it('reads one object per line, skips blank lines, counts rows over records only', async () => {
    const file = await t.write('a.ndjson', '{"a":1}\n\n   \n{"a":2,"b":[1,2]}\r\n{"a":3}');
    const src = await openInput({ file });
    expect(src.format).toBe('ndjson');
    const recs = await collect(src.records());
    expect(recs.map((r) => [r.row, r.line, { ...r.values }])).toEqual([
      [1, 1, { a: 1 }],
      [2, 4, { a: 2, b: [1, 2] }],
      [3, 5, { a: 3 }],
    ]);
    await src.close();
  });

  it("keeps each record's own text (valuesJson) for the report: one line, without the whitespace around it", async () => {
    const file = await t.write('text.ndjson', '{"a":1}\n  {"a" : 2,\t"b":"\\u00e9\\/"}  \r\n{"a":3}\r\n[1]\n{"a":\n{"z":1}');
    const recs = await readAll({ file });
    expect(recs.map((r) => r.valuesJson)).toEqual(['{"a":1}', '{"a" : 2,\t"b":"\\u00e9\\/"}', '{"a":3}', undefined, undefined, '{"z":1}']);
    for (const r of recs) if (r.valuesJson !== undefined) expect(JSON.parse(r.valuesJson)).toEqual({ ...r.values });
  });

  it('turns a bad line or a non-object into an error record naming the line', async () => {
    const file = await t.write('bad.jsonl', '{"a":1}\n{"a":\n[1,2]\n\n"x"\n{"a":5}\n');
    const recs = await readAll({ file });
    expect(recs.length).toBe(5);
    expect(recs[1]).toMatchObject({ row: 2, line: 2 });
    expect(recs[1]!.error).toMatch(/^line 2: /);
    expect(recs[2]!.error).toBe('line 3: expected an object, got an array');
    expect(recs[3]!.error).toBe('line 5: expected an object, got a string');
    expect(recs[4]).toMatchObject({ row: 5, line: 6 });
    expect(recs[4]!.error).toBeUndefined();
  });

  it('says "invalid JSON" with the column, without a copy of the line', async () => {
    const long = `{"secret":"${'s'.repeat(200)}", oops}`;
    const recs = await readAll({ file: await t.write('cols.ndjson', `{"a":x}\n{"a":1 "b":2}\n${long}\n`) });
    expect(recs.map((r) => r.error)).toEqual([
      "line 1: invalid JSON: Unexpected token 'x'",
      "line 2: invalid JSON: Expected ',' or '}' after property value at column 8",
      expect.stringMatching(/^line 3: invalid JSON: .* at column 2\d\d$/),
    ]);
    expect(recs[2]!.error).not.toContain('sssss');
  });

  it('keeps __proto__ as data', async () => {
    const [rec] = await readAll({ file: await t.write('proto.ndjson', '{"__proto__":{"polluted":1},"x":1}\n') });
    expect(Object.getPrototypeOf(rec!.values)).toBe(null);
    expect(rec!.values['__proto__']).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('streams lines that cross read chunks', async () => {
    const n = 20_000;
    const text = Array.from({ length: n }, (_, i) => JSON.stringify({ id: i + 1, name: `交换机-${i + 1}` })).join('\n');
    const recs = await readAll({ file: await t.write('big.ndjson', text) });
    expect(recs.length).toBe(n);
    expect(recs.every((r, i) => r.row === i + 1 && r.line === i + 1 && r.values.name === `交换机-${i + 1}`)).toBe(true);
  });
});

describe('JSON files that are API exports', () => {
  it('reads the rows at data.info, data.items, items, info or data, says where, and counts lines from the file\'s start', async () => {
    for (const [shape, path] of [
      ['{\n "result": true, "code": 0, "permission": {"x": [1, {"info": []}]},\n "data": {"count": 2, "info": [\n{"a": 1},\n{"a": 2}\n]}}', 'data.info'],
      ['{"code":0,"data":{"has_more":false,"items":[\n{"a": 1},\n{"a": 2}\n],"page_token":"t"},"msg":"success"}', 'data.items'],
      ['{"total": 2, "items": [\n{"a": 1},\n{"a": 2}\n], "next": null}', 'items'],
      ['{"info":[\n{"a": 1},\n{"a": 2}\n]}', 'info'],
      ['{"data":[\n{"a": 1},\n{"a": 2}\n]}', 'data'],
    ] as const) {
      const src = await openInput({ file: await t.write('export.json', shape) });
      expect(src.notes()).toEqual([`${src.file}: an API export: the rows are the array at ${path} (the rest of the object is not loaded)`]);
      const recs = await collect(src.records());
      const first = shape.split('\n').findIndex((l) => l.startsWith('{"a": 1}')) + 1;
      expect(recs.map((r) => [r.row, r.line, r.values.a])).toEqual([[1, first, 1], [2, first + 1, 2]]);
      await src.close();
    }
  });

  it('checks the object around the array once read: a broken end is a syntax error, a huge prefix is refused', async () => {
    const broken = await t.write('broken.json', '{"data": {"info": [{"a": 1}]}, "extra": }');
    const err = await usageError(readAll({ file: broken }));
    expect(err.message).toContain('invalid JSON');
    expect(err.message).toContain('in the object around the rows array at data.info');
    const unclosed = await usageError(readAll({ file: await t.write('unclosed.json', '{"items": [{"a": 1}]') }));
    expect(unclosed.message).toContain('in the object around the rows array at items');
    const badKey = await usageError(readAll({ file: await t.write('bad-key.json', '{"a\\x": 1, "items": [{"a": 1}]}') }));
    expect(badKey.message).toContain('in the object around the rows array at items');
        const far = await t.write('far.json', `{"note": "${'x'.repeat(1_100_000)}", "items": []}`);
    expect((await usageError(openInput({ file: far }))).message).toContain('no array of rows at data, data.info, data.items, items or info in its first 1 MB');
  });

  it('standard input: one object with a rows array is JSON; objects line by line stay NDJSON', async () => {
    const { Readable } = await import('node:stream');
    const stdin = (text: string) => Readable.from([Buffer.from(text)]);
    const exp = await openInput({ file: '-', stdin: stdin('{"code": 0, "data": {"items": [{"a": 1}]}}\n'), tmpDir: t.dir });
    expect(exp.format).toBe('json');
    expect((await collect(exp.records())).map((r) => r.values.a)).toEqual([1]);
    await exp.close();
    const nd = await openInput({ file: '-', stdin: stdin('{"items": [1]}\n{"items": [2]}\n'), tmpDir: t.dir });
    expect(nd.format).toBe('ndjson');
    expect((await collect(nd.records())).map((r) => r.values.items)).toEqual([[1], [2]]);
    await nd.close();
  });
});
