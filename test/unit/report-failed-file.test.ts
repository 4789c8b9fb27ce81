import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FailedRowsWriter, columnKey } from '../../src/report/failed-file.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-failed-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const vals = (o: Record<string, unknown>) => Object.assign(Object.create(null), o) as Record<string, unknown>;

describe('FailedRowsWriter', () => {
  it('writes CSV with the original header (type hints kept), _error last, values untouched', async () => {
    const file = path.join(dir, 'failed.csv');
    const w = await FailedRowsWriter.open({ path: file, format: 'csv', columns: ['bk_inst_name', 'port_count:int', 'note'] });
    w.add(vals({ bk_inst_name: 'sw1', port_count: 'abc', note: '=not a formula here' }), 'port_count: expected an integer');
    w.add(vals({ bk_inst_name: 'sw2', port_count: '-5', note: 'a, "b"\nc' }), 'duplicated');
    expect(w.count).toBe(2);
    await w.finish();
    const rows = parse(fs.readFileSync(file, 'utf8')) as string[][];
    expect(rows).toEqual([
      ['bk_inst_name', 'port_count:int', 'note', '_error'],
      ['sw1', 'abc', '=not a formula here', 'port_count: expected an integer'],
      ['sw2', '-5', 'a, "b"\nc', 'duplicated'],
    ]);
  });

  it('uses the input delimiter and does not repeat an _error column from a previous run', async () => {
    const file = path.join(dir, 'failed.csv');
    const w = await FailedRowsWriter.open({ path: file, format: 'csv', columns: ['a', 'b', '_error'], delimiter: ';' });
    w.add(vals({ a: 'x;y', b: 'z,w', _error: 'old' }), 'new');
    await w.finish();
    expect(fs.readFileSync(file, 'utf8')).toBe('a;b;_error\n"x;y";z,w;new\n');
  });

  it('writes JSON and NDJSON objects with _error last and __proto__ kept as data', async () => {
    for (const format of ['json', 'ndjson'] as const) {
      const file = path.join(dir, `failed.${format}`);
      const w = await FailedRowsWriter.open({ path: file, format, columns: [] });
      const v = JSON.parse('{"bk_inst_id": 5, "tags": ["a"], "__proto__": {"x": 1}, "_error": "old"}') as Record<string, unknown>;
      w.add(v, 'no such instance');
      w.add(vals({ bk_inst_id: 6 }), 'boom');
      await w.finish();
      const text = fs.readFileSync(file, 'utf8');
      const rows = format === 'json' ? (JSON.parse(text) as unknown[]) : text.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows).toHaveLength(2);
      expect(text).toContain('"__proto__":{"x":1}');
      const first = rows[0] as Record<string, unknown>;
      expect(Object.keys(first)).toEqual(['bk_inst_id', 'tags', '__proto__', '_error']);
      expect(first._error).toBe('no such instance');
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    }
  });

  it('an empty JSON file is a valid empty array; an empty CSV has its header', async () => {
    const j = path.join(dir, 'f.json');
    await (await FailedRowsWriter.open({ path: j, format: 'json', columns: [] })).finish();
    expect(JSON.parse(fs.readFileSync(j, 'utf8'))).toEqual([]);
    const c = path.join(dir, 'f.csv');
    await (await FailedRowsWriter.open({ path: c, format: 'csv', columns: ['a:int'] })).finish();
    expect(fs.readFileSync(c, 'utf8')).toBe('a:int,_error\n');
  });

  it('flushes large amounts as it goes', async () => {
    const file = path.join(dir, 'f.ndjson');
    const w = await FailedRowsWriter.open({ path: file, format: 'ndjson', columns: [] });
    for (let i = 0; i < 5000; i++) w.add(vals({ n: i, pad: 'x'.repeat(50) }), 'e');
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    await w.finish();
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(5000);
  });

  it('maps header text to the reader key', () => {
    expect(columnKey('port_count:int')).toBe('port_count');
    expect(columnKey(' is_managed:BOOL ')).toBe('is_managed');
    expect(columnKey('a:b')).toBe('a:b');
    expect(columnKey('plain')).toBe('plain');
  });

  it('fails to open an unwritable path with a usage error', async () => {
    await expect(FailedRowsWriter.open({ path: path.join(dir, 'x', 'f.csv'), format: 'csv', columns: [] })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('writes in the input\'s encoding, with a byte order mark only when the input had one', async () => {
    const write = async (name: string, o: { encoding?: string; bom?: boolean; format?: 'csv' | 'ndjson' }) => {
      const file = path.join(dir, name);
      const w = await FailedRowsWriter.open({ path: file, format: o.format ?? 'csv', columns: ['名称', 'n'], encoding: o.encoding, bom: o.bom });
      for (let i = 0; i < 3000; i++) w.add(vals({ 名称: `交换机-${i} 😀`, n: String(i) }), '[1199014] 数据唯一性校验失败');
      await w.finish();
      return fs.readFileSync(file);
    };
    const gb = await write('gb.csv', { encoding: 'gb18030' });
    const text = new TextDecoder('gb18030', { fatal: true }).decode(gb);
    expect(text.split('\n').slice(0, 2)).toEqual(['名称,n,_error', '交换机-0 😀,0,[1199014] 数据唯一性校验失败']);
    expect(text.split('\n')).toHaveLength(3002);
    expect(gb.includes(Buffer.from('交换机', 'utf8'))).toBe(false);
    const utf8Bom = await write('bom.csv', { encoding: 'utf-8', bom: true });
    expect([...utf8Bom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(utf8Bom.subarray(3).toString('utf8').startsWith('名称,n,_error\n')).toBe(true);
    expect((await write('plain.csv', {})).toString('utf8').startsWith('名称,n,_error\n')).toBe(true);
    const u16 = await write('u16.ndjson', { encoding: 'utf-16le', bom: true, format: 'ndjson' });
    expect([...u16.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(JSON.parse(new TextDecoder('utf-16le').decode(u16).split('\n')[0]!)).toEqual({ 名称: '交换机-0 😀', n: '0', _error: '[1199014] 数据唯一性校验失败' });
    // No encoder for a stateful encoding: UTF-8 with a mark, which the tool reads without --encoding.
    const jis = await write('jis.csv', { encoding: 'iso-2022-jp' });
    expect([...jis.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });
});
