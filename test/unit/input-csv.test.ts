import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { openInput } from '../../src/input/index.js';
import { collect, readAll, tempDir, usageError } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

describe('CSV input', () => {
  it('reads header and rows as text, keyed by column, with row and line numbers', async () => {
    const file = await t.write('a.csv', 'name,port_count,is_managed\nsw1,48,true\nsw2,24,false\n');
    const src = await openInput({ file });
    expect(src.format).toBe('csv');
    expect(src.file).toBe(file);
    expect(src.columns).toEqual(['name', 'port_count', 'is_managed']);
    const recs = await collect(src.records());
    expect(recs.map((r) => [r.row, r.line, { ...r.values }])).toEqual([
      [1, 2, { name: 'sw1', port_count: '48', is_managed: 'true' }],
      [2, 3, { name: 'sw2', port_count: '24', is_managed: 'false' }],
    ]);
    expect(recs.every((r) => Object.getPrototypeOf(r.values) === null && r.error === undefined)).toBe(true);
    // records() can run again from the start
    expect((await collect(src.records())).length).toBe(2);
    await src.close();
  });

  it('keeps quoted commas, doubled quotes and newlines; counts lines of multi-line cells', async () => {
    const file = await t.write(
      'q.csv',
      'a,b,c\n"x, y","say ""hi""","line1\nline2\nline3"\n"  padded  ",2,3\n4,5,6\n',
    );
    const recs = await readAll({ file });
    expect({ ...recs[0]!.values }).toEqual({ a: 'x, y', b: 'say "hi"', c: 'line1\nline2\nline3' });
    expect({ ...recs[1]!.values }).toEqual({ a: '  padded  ', b: '2', c: '3' });
    expect(recs.map((r) => r.line)).toEqual([2, 5, 6]);
    expect(recs.map((r) => r.row)).toEqual([1, 2, 3]);
  });

  it("keeps a record's own text (valuesCsv) when it is the report's input cells: no quoted cell, no formula start, the delimiter ','", async () => {
    const file = await t.write('own.csv', 'a,b,c\r\nsw1,48,\r\n"q",1,2\n=1+1,2,3\nx,-5,y\n@a,b,c\nx,\tb,c\n交换机,,\nlast,1,2');
    const recs = await readAll({ file });
    expect(recs.map((r) => r.valuesCsv)).toEqual(['sw1,48,', undefined, undefined, undefined, undefined, undefined, '交换机,,', 'last,1,2']);
    for (const r of recs) if (r.valuesCsv !== undefined) expect(r.valuesCsv.split(',')).toEqual(Object.values(r.values));
    const semi = await readAll({ file: await t.write('semi.csv', 'a;b\nx,y;z\n'), delimiter: ';' });
    expect(semi[0]!.valuesCsv).toBeUndefined(); // its cells joined by ',' would be three cells in the report
    const ragged = await readAll({ file: await t.write('ragged.csv', 'a,b\n1,2,3\n') });
    expect(ragged[0]).toMatchObject({ error: expect.any(String) });
    expect(ragged[0]!.valuesCsv).toBeUndefined();
  });

  it('strips a UTF-8 BOM from the first column name', async () => {
    const file = await t.write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name,v\n交换机,1\n')]));
    const src = await openInput({ file });
    expect(src.columns).toEqual(['name', 'v']);
    const recs = await collect(src.records());
    expect(recs[0]!.values.name).toBe('交换机');
    await src.close();
  });

  it('uses the delimiter: ";" and tab (as "tab", "\\t" or a real tab)', async () => {
    const semi = await t.write('semi.csv', 'a;b\n1,5;2\n');
    expect({ ...(await readAll({ file: semi, delimiter: ';' }))[0]!.values }).toEqual({ a: '1,5', b: '2' });
    const tsv = await t.write('tab.csv', 'a\tb\n1\t2\n');
    for (const delimiter of ['tab', 'TAB', '\\t', '\t']) {
      expect({ ...(await readAll({ file: tsv, delimiter }))[0]!.values }).toEqual({ a: '1', b: '2' });
    }
    const err = await usageError(openInput({ file: tsv, delimiter: '::' }));
    expect(err.message).toContain('delimiter');
  });

  it('turns a ragged row into an error record and keeps going', async () => {
    const file = await t.write('ragged.csv', 'a,b,c\n1,2,3\n1,2\n1,2,3,4\n7,8,9\n');
    const recs = await readAll({ file });
    expect(recs.length).toBe(4);
    expect(recs[1]).toMatchObject({ row: 2, line: 3, error: 'line 3: 2 cells, the header has 3 (check quoting and delimiters)' });
    // The cells it has are kept by position (for the report and the --failed file); extra ones join the last column.
    expect({ ...recs[1]!.values }).toEqual({ a: '1', b: '2' });
    expect(recs[2]!.error).toBe('line 4: 4 cells, the header has 3 (check quoting and delimiters)');
    expect({ ...recs[2]!.values }).toEqual({ a: '1', b: '2', c: '3,4' });
    expect(recs[3]).toMatchObject({ row: 4, line: 5 });
    expect(recs[3]!.error).toBeUndefined();
  });

  it('stops with a UsageError naming the line when a quote is never closed', async () => {
    const file = await t.write('unterminated.csv', 'a,b\n1,2\n3,4\n"5,6\n7,8\n');
    const src = await openInput({ file });
    const err = await usageError(collect(src.records()));
    expect(err.exitCode).toBe(EXIT.USAGE);
    expect(err.message).toContain('unterminated.csv line 4');
    expect(err.message).toContain('never closed');
    await src.close();
  });

  it('stops with a UsageError on a stray quote', async () => {
    const file = await t.write('stray.csv', 'a,b\n1,2\n"x"y,3\n');
    const err = await usageError(readAll({ file }));
    expect(err.message).toMatch(/stray\.csv line 3: misplaced quote/);
  });

  it('parses and strips header type hints (case-insensitive) and trims names', async () => {
    const file = await t.write('hints.csv', ' name , port_count:int,is_managed:BOOL , bind_info : json,price:float,n:number,d:date,s:string\n');
    const src = await openInput({ file });
    expect(src.columns).toEqual(['name', 'port_count', 'is_managed', 'bind_info', 'price', 'n', 'd', 's']);
    expect({ ...src.hints }).toEqual({ port_count: 'int', is_managed: 'bool', bind_info: 'json', price: 'float', n: 'number', d: 'date', s: 'string' });
    expect(await collect(src.records())).toEqual([]);
    await src.close();
  });

  it('rejects an unknown type hint, listing the valid ones', async () => {
    const file = await t.write('badhint.csv', 'name,port_count:integer\nx,1\n');
    const err = await usageError(openInput({ file }));
    expect(err.message).toContain('port_count:integer');
    expect(err.hint).toContain('string, int, number, float, bool, json, date');
  });

  it('rejects duplicate and empty header names, naming them', async () => {
    const dup = await t.write('dup.csv', 'name,sn,port:int,sn\n');
    expect((await usageError(openInput({ file: dup }))).message).toContain('duplicate column names: sn (columns 2 and 4)');
    const dupHint = await t.write('duphint.csv', 'port,port:int\n');
    expect((await usageError(openInput({ file: dupHint }))).message).toContain('port (columns 1 and 2)');
    const empty = await t.write('empty-name.csv', 'name,,x,\n');
    expect((await usageError(openInput({ file: empty }))).message).toContain('columns 2, 4 of the header have no name');
  });

  it('skips empty and whitespace-only lines, keeping line numbers right', async () => {
    const file = await t.write('blank.csv', '\na,b\n\n1,2\n   \r\n\n3,4\n\n');
    const recs = await readAll({ file });
    expect(recs.map((r) => [r.row, r.line, { ...r.values }])).toEqual([
      [1, 4, { a: '1', b: '2' }],
      [2, 7, { a: '3', b: '4' }],
    ]);
  });

  it('reads CRLF files (also with CRLF inside quoted cells)', async () => {
    const file = await t.write('crlf.csv', 'a,b\r\n1,"x\r\ny"\r\n3,4\r\n');
    const recs = await readAll({ file });
    expect(recs.map((r) => [r.line, { ...r.values }])).toEqual([
      [2, { a: '1', b: 'x\r\ny' }],
      [4, { a: '3', b: '4' }],
    ]);
  });

  it('rejects a file without a header', async () => {
    const file = await t.write('empty.csv', '\n\n');
    expect((await usageError(openInput({ file }))).message).toContain('empty.csv is empty');
  });

  it('keeps __proto__, constructor and prototype columns as plain data', async () => {
    const file = await t.write('proto.csv', '__proto__,constructor,prototype\n"{""polluted"":1}",x,y\n');
    const [rec] = await readAll({ file });
    expect(Object.getPrototypeOf(rec!.values)).toBe(null);
    expect(Object.keys(rec!.values)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(rec!.values['__proto__']).toBe('{"polluted":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('streams a file larger than one read chunk with the right row and line numbers', async () => {
    const n = 20_000;
    let text = 'id,name,remark\n';
    for (let i = 1; i <= n; i++) text += i % 1000 === 0 ? `${i},交换机-${i},"two\nlines"\n` : `${i},交换机-${i},备注\n`;
    const file = await t.write('big.csv', text);
    const recs = await readAll({ file });
    expect(recs.length).toBe(n);
    // each 1000th record spans two lines, so later records shift down by one line per such record
    const last = recs[n - 1]!;
    expect(last).toMatchObject({ row: n, line: n + 1 + (n / 1000 - 1) });
    expect(last.values.name).toBe(`交换机-${n}`);
    expect(recs.every((r, i) => r.values.id === String(i + 1))).toBe(true);
  });
});

describe('CSV delimiter found in the header (no --delimiter)', () => {
  const read = async (name: string, text: string, delimiter?: string) => {
    const src = await openInput({ file: await t.write(name, text), delimiter });
    const recs = await collect(src.records());
    await src.close();
    return { src, recs };
  };

  it('takes the one candidate the header holds (, ; tab |) and says so when it is not ","', async () => {
    for (const [d, name] of [[';', "';'"], ['\t', 'tab'], ['|', "'|'"]] as const) {
      const { src, recs } = await read('d.csv', `a${d}"b${d}c"${d}c\n1${d}"x,y"${d}3\n`);
      expect(src.delimiter).toBe(d);
      expect(src.columns).toEqual(['a', `b${d}c`, 'c']);
      expect({ ...recs[0]!.values }).toEqual({ a: '1', [`b${d}c`]: 'x,y', c: '3' });
      expect(src.notes()).toEqual([`${src.file}: delimiter ${name} (detected from the header; --delimiter chooses another)`]);
    }
    const comma = await read('c.csv', 'a,b\n1,2\n');
    expect([comma.src.delimiter, comma.src.notes()]).toEqual([',', []]);
    const one = await read('one.csv', 'name\nx;y\n');
    expect([one.src.delimiter, one.recs[0]!.values.name]).toEqual([',', 'x;y']);
  });

  it('a header with several candidates: the one every data line agrees with; else refused with the likely one', async () => {
    const { src, recs } = await read('agree.csv', 'name;ip,mask;vlan\nsw;10.0.0.1/24;10\nsw2;10.0.0.2/16;20\n');
    expect(src.delimiter).toBe(';');
    expect(recs.map((r) => r.values['ip,mask'])).toEqual(['10.0.0.1/24', '10.0.0.2/16']);
    const err = await usageError(openInput({ file: await t.write('both.csv', 'name;ip,mask;vlan\nsw;1,2;3\nsw2;4,5;6\n') }));
    expect(err.message).toMatch(/both\.csv line 1: cannot tell the delimiter: the header has ',' ×1 and ';' ×2$/);
    expect(err.hint).toBe("looks like ';' — use --delimiter ';'");
  });

  it('a header that is one column with another candidate in it, under a given delimiter: "looks like"', async () => {
    const err = await usageError(openInput({ file: await t.write('given.csv', 'a;b;c\n1;2;3\n'), delimiter: ',' }));
    expect(err.message).toContain('given.csv line 1: the header is one column "a;b;c" when split by \',\'');
    expect(err.hint).toBe("looks like ';' — use --delimiter ';'");
    const tab = await usageError(openInput({ file: await t.write('given-tab.csv', 'a\tb\n1\t2\n'), delimiter: ';' }));
    expect(tab.hint).toBe('looks like tab — use --delimiter tab');
  });
});

describe('rows Excel leaves empty', () => {
  it('skips rows whose cells are all empty or blank (also short ones), numbers the rest without them, counts them', async () => {
    const file = await t.write('empty-rows.csv', 'a,b,c\n1,2,3\n,,\n , ,\n4,,6\n,\n"",,""\n7,8,9\n');
    const src = await openInput({ file });
    expect(src.emptyRows).toBe(0); // nothing read yet
    const recs = await collect(src.records());
    expect(recs.map((r) => [r.row, r.line, r.values.a])).toEqual([[1, 2, '1'], [2, 5, '4'], [3, 8, '7']]);
    expect(src.emptyRows).toBe(4);
    expect(src.notes()).toEqual([`${file}: 4 rows with every cell empty skipped (not counted as rows)`]);
    await collect(src.records()); // read again (the pipeline reads twice): counted once per read, not added up
    expect(src.emptyRows).toBe(4);
    await src.close();
  });
});
