/**
 * The export's parts on their own: cell values that the loaders read back to the same value, the format table,
 * --fields / --where against a model, and the two paging guards (ids must rise, page tokens must move).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT, UsageError } from '../../src/core/errors.js';
import type { CmdbApi, CmdbEnvelope } from '../../src/http/cmdb.js';
import type { FeishuApi, FeishuEnvelope } from '../../src/http/feishu.js';
import { compileField, type FieldSpec } from '../../src/schema/fields.js';
import { recordPages } from '../../src/export/apaas-pages.js';
import { instancePages } from '../../src/export/cmdb-pages.js';
import { planColumns, whereRules } from '../../src/export/query.js';
import { cellValue, destination, exportFormat, RowSink, type ExportFormat } from '../../src/export/sink.js';

const opt = (id: string, name = id) => ({ id, name });
const SPECS: FieldSpec[] = [
  { name: 'bk_asset_id', type: 'singlechar', required: true, unique: true },
  { name: 'port_count', type: 'int', min: 1, max: 1024 },
  { name: 'throughput', type: 'float' },
  { name: 'is_managed', type: 'bool' },
  { name: 'vendor', type: 'enum', options: [opt('cisco', 'Cisco'), opt('huawei', '华为')] },
  { name: 'tags', type: 'enummulti', options: [opt('core'), opt('a,b'), opt('lab')] },
  { name: 'bought_on', type: 'date' },
  { name: 'online_at', type: 'time', editable: false },
  { name: 'tz', type: 'timezone' },
  { name: 'bk_operator', type: 'objuser' },
  { name: 'orgs', type: 'organization' },
  { name: 'quoted', type: 'enumquote' },
  { name: 'zone', type: 'list', listOptions: ['dmz', 'core'] },
  { name: 'bind', type: 'json' },
  { name: 'remark', type: 'longchar' },
];
const spec = (name: string) => SPECS.find((s) => s.name === name)!;

describe('cellValue: what create-inst / update-inst read back from a CSV cell', () => {
  it.each([
    ['bk_asset_id', 'SW-1'],
    ['bk_asset_id', 'with, "quoted" text'],
    ['port_count', 48],
    ['throughput', 10.5],
    ['throughput', 1e21],
    ['is_managed', false],
    ['is_managed', true],
    ['vendor', 'huawei'],
    ['tags', ['core', 'lab']],
    ['tags', ['a,b', 'core']],
    ['bought_on', '2024-02-29'],
    ['online_at', '2023-03-01 10:00:00'],
    ['tz', 'Asia/Shanghai'],
    ['bk_operator', 'alice,bob'],
    ['orgs', [3, 12]],
    ['quoted', [1001, 1002]],
    ['zone', 'dmz'],
    ['bind', { ip: '127.0.0.1', ports: [80, 443] }],
    ['bind', 'a plain string'],
    ['remark', '多行\n文本'],
  ] as const)('%s %j loads back unchanged', (name, value) => {
    const text = cellValue(spec(name), value);
    const back = compileField(spec(name))(String(text), true);
    expect(back.error).toBeUndefined();
    expect(back.value).toEqual(value);
  });

  it('writes lists as "a,b" when no item holds a separator, else as a JSON array; null and undefined as empty', () => {
    expect(cellValue(spec('tags'), ['core', 'lab'])).toBe('core,lab');
    expect(cellValue(spec('tags'), ['a,b'])).toBe('["a,b"]');
    expect(cellValue(spec('tags'), [])).toBe('');
    expect(cellValue(spec('remark'), null)).toBe('');
    expect(cellValue(undefined, undefined)).toBe('');
    expect(cellValue(undefined, { a: 1 })).toBe('{"a":1}');
  });
});

describe('exportFormat', () => {
  it('takes the flag, else the --out extension, else csv', () => {
    expect(exportFormat('ndjson', 'x.csv')).toBe('ndjson');
    expect(exportFormat(undefined, 'x.json')).toBe('json');
    expect(exportFormat(undefined, 'x.jsonl')).toBe('ndjson');
    expect(exportFormat(undefined, '-')).toBe('csv');
    expect(exportFormat(undefined, undefined)).toBe('csv');
  });

  it('takes xlsx from the flag or the .xlsx extension (the plain sheet); cmdb-xlsx only from the flag', () => {
    expect(exportFormat('xlsx', undefined)).toBe('xlsx');
    expect(exportFormat('cmdb-xlsx', 'x.csv')).toBe('cmdb-xlsx');
    expect(exportFormat(undefined, 'x.xlsx')).toBe('xlsx');
  });

  it('refuses a workbook on stdout, naming a file to write instead', () => {
    for (const f of ['xlsx', 'cmdb-xlsx'] as const) {
      expect(() => destination('-', f, 'bk_switch', false)).toThrow(UsageError);
      expect(() => destination('-', f, 'bk_switch', false)).toThrow(/cannot go to stdout/);
    }
    expect(destination('-', 'csv', 'bk_switch', false).target).toEqual({ stdout: process.stdout });
  });
});

describe('planColumns / whereRules', () => {
  it('defaults to the id column and every editable field, naming the ones left out', () => {
    const p = planColumns(SPECS, undefined);
    expect(p.columns[0]).toBe('bk_inst_id');
    expect(p.columns).not.toContain('online_at');
    expect(p.leftOut).toEqual(['online_at']);
    // A model that lists bk_inst_id among its attributes still gets the column once.
    expect(planColumns([{ name: 'bk_inst_id', type: 'int', editable: false }, ...SPECS], undefined).columns.filter((c) => c === 'bk_inst_id')).toHaveLength(1);
  });

  it('--fields keeps its order after the id column, once each; unknown names are all reported', () => {
    expect(planColumns(SPECS, 'vendor, online_at,bk_inst_id,vendor').columns).toEqual(['bk_inst_id', 'vendor', 'online_at']);
    expect(() => planColumns(SPECS, 'vendr,colour')).toThrow(/"vendr".*did you mean "vendor".*\n.*"colour"/s);
  });

  it('coerces values like CSV cells; a repeated field becomes `in`', () => {
    expect(whereRules(['vendor=华为', 'port_count= 48', 'is_managed=yes', 'vendor=cisco', 'bk_inst_id=7'], SPECS)).toEqual([
      { field: 'vendor', operator: 'in', value: ['huawei', 'cisco'] },
      { field: 'port_count', operator: 'equal', value: 48 },
      { field: 'is_managed', operator: 'equal', value: true },
      { field: 'bk_inst_id', operator: 'equal', value: 7 },
    ]);
    expect(whereRules(['remark=a=b'], SPECS)).toEqual([{ field: 'remark', operator: 'equal', value: 'a=b' }]);
  });

  it('reports every bad --where at once: no "=", unknown field, list field, bad value', () => {
    let err: Error | undefined;
    try {
      whereRules(['vendor', 'colour=red', 'tags=core', 'port_count=2000'], SPECS);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message.split('\n')).toEqual([
      '--where "vendor": expected field=value, e.g. --where vendor=huawei',
      '--where colour=red: "colour" is not a field of this model',
      '--where tags=core: tags holds a list; export filters on single-value fields only',
      '--where port_count=2000: expected at most 1024, got "2000"',
    ]);
  });
});

/** A CmdbApi that answers from a list of pages and records the requests. */
function fakeCmdb(pages: Record<string, unknown>[][], count: () => CmdbEnvelope = () => ({ result: true, code: 0, message: '', permission: null, data: { count: 99 }, status: 200 })): { api: CmdbApi; bodies: Record<string, any>[] } {
  const bodies: Record<string, any>[] = [];
  const api = {
    async call(op: string, body: Record<string, unknown>): Promise<CmdbEnvelope> {
      if (op === 'count_object_instances') return count();
      bodies.push(body);
      return { result: true, code: 0, message: '', permission: null, data: { info: pages[bodies.length - 1] ?? [] }, status: 200 };
    },
  } as unknown as CmdbApi;
  return { api, bodies };
}

async function drain(pages: AsyncGenerator<unknown[]>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const p of pages) out.push(p);
  return out;
}

describe('instancePages: ids above the last one, sorted by id', () => {
  it('asks for ids above the last one seen, stops at a short page', async () => {
    const { api, bodies } = fakeCmdb([[{ bk_inst_id: 3 }, { bk_inst_id: 8 }], [{ bk_inst_id: 9 }]]);
    const p = await instancePages(api, { obj: 'bk_switch', fields: ['bk_sn'], rules: [{ field: 'vendor', operator: 'equal', value: 'cisco' }], pageSize: 2 });
    expect(p.total).toBe(99);
    expect(await drain(p.pages)).toEqual([[{ bk_inst_id: 3 }, { bk_inst_id: 8 }], [{ bk_inst_id: 9 }]]);
    expect(bodies.map((b) => b.conditions.rules.at(-1).value)).toEqual([0, 8]);
    expect(bodies[0]).toEqual({
      bk_obj_id: 'bk_switch',
      fields: ['bk_inst_id', 'bk_sn'],
      conditions: { condition: 'AND', rules: [{ field: 'vendor', operator: 'equal', value: 'cisco' }, { field: 'bk_inst_id', operator: 'greater', value: 0 }] },
      page: { start: 0, limit: 2, sort: 'bk_inst_id' },
    });
  });

  it('runs without a total when count_object_instances is missing (404) or refused', async () => {
    for (const count of [
      (): CmdbEnvelope => {
        throw new CliError('CMDB answered HTTP 404 for POST /api/c/compapi/v2/cc/count_object_instances/', EXIT.AUTH);
      },
      (): CmdbEnvelope => ({ result: false, code: 1199006, message: 'bad', permission: null, data: null, status: 200 }),
    ]) {
      const { api } = fakeCmdb([[{ bk_inst_id: 3 }]], count);
      const p = await instancePages(api, { obj: 'bk_switch', fields: [], rules: [], pageSize: 2 });
      expect(p.total).toBeUndefined();
      expect(await drain(p.pages)).toEqual([[{ bk_inst_id: 3 }]]);
    }
  });

  it('stops (exit 5) when the server hands back an id that does not rise past the cursor', async () => {
    const { api } = fakeCmdb([[{ bk_inst_id: 3 }, { bk_inst_id: 8 }], [{ bk_inst_id: 8 }, { bk_inst_id: 10 }]]);
    const p = await instancePages(api, { obj: 'bk_switch', fields: [], rules: [], pageSize: 2 });
    const err = await drain(p.pages).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.UNREACHABLE);
    expect((err as Error).message).toMatch(/bk_inst_id 8 after 8: the server did not page by bk_inst_id/);
  });
});

/** A FeishuApi that answers batch_query from a script and records the bodies. */
function fakeFeishu(answers: Record<string, unknown>[]): { api: FeishuApi; bodies: Record<string, any>[] } {
  const bodies: Record<string, any>[] = [];
  const api = {
    async records(_op: string, _ns: string, _obj: string, body: Record<string, unknown>): Promise<FeishuEnvelope> {
      bodies.push(body);
      return { ok: true, code: 0, msg: 'success', data: answers[bodies.length - 1], status: 200 };
    },
  } as unknown as FeishuApi;
  return { api, bodies };
}

describe('recordPages: page tokens that must move', () => {
  const o = { namespace: 'ns', object: 'device', fields: ['name'], pageSize: 2 };

  it('sends use_page_token with "" first, then each next_page_token; total from the first page', async () => {
    const { api, bodies } = fakeFeishu([
      { items: JSON.stringify([{ _id: '1' }, { _id: '2' }]), has_more: true, next_page_token: 't1', total: 3 },
      { items: JSON.stringify([{ _id: '3' }]), has_more: false, next_page_token: '' },
    ]);
    const p = recordPages(api, o);
    expect(await drain(p.pages)).toEqual([[{ _id: '1' }, { _id: '2' }], [{ _id: '3' }]]);
    expect(p.total).toBe(3);
    expect(bodies).toEqual([
      { select: ['_id', 'name'], page_size: 2, use_page_token: true, page_token: '', need_total_count: true },
      { select: ['_id', 'name'], page_size: 2, use_page_token: true, page_token: 't1', need_total_count: false },
    ]);
  });

  it.each([
    ['the same token again', 't1'],
    ['no token', ''],
  ])('stops (exit 5) when has_more comes with %s', async (_what, second) => {
    const { api } = fakeFeishu([
      { items: '[{"_id":"1"}]', has_more: true, next_page_token: 't1' },
      { items: '[{"_id":"1"}]', has_more: true, next_page_token: second },
    ]);
    const err = await drain(recordPages(api, o).pages).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.UNREACHABLE);
    expect((err as Error).message).toMatch(/more records but gave/);
  });
});

describe('RowSink: complete or absent', () => {
  const specs = new Map<string, FieldSpec>([['n', { name: 'n', type: 'int' }]]);
  const open = (out: string, format: ExportFormat, columns: string[], name: string, overwrite: boolean) => RowSink.open(destination(out, format, name, overwrite), columns, specs);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-sink-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <out>.partial and renames it when complete; an empty JSON export is []', async () => {
    const out = join(dir, 'a.json');
    const sink = await open(out, 'json', ['bk_inst_id', 'n'], 'a', false);
    await sink.page([{ bk_inst_id: 1, n: 2, extra: 'not a column' }]);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(true);
    await sink.commit();
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([{ bk_inst_id: 1, n: 2 }]);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const empty = await open(join(dir, 'e.json'), 'json', ['bk_inst_id'], 'e', false);
    await empty.commit();
    expect(JSON.parse(readFileSync(join(dir, 'e.json'), 'utf8'))).toEqual([]);
  });

  it('discard removes the partial file and leaves an existing --overwrite target as it was', async () => {
    const out = join(dir, 'b.csv');
    writeFileSync(out, 'old\n');
    const sink = await open(out, 'csv', ['bk_inst_id'], 'b', true);
    await sink.page([{ bk_inst_id: 1 }]);
    await sink.discard();
    expect(readFileSync(out, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['b.csv']);
  });

  it('refuses an existing file without overwrite, and a folder', async () => {
    const out = join(dir, 'c.csv');
    writeFileSync(out, 'keep\n');
    expect(() => destination(out, 'csv', 'c', false)).toThrow(/exists; export does not overwrite/);
    expect(() => destination(dir, 'csv', 'c', true)).toThrow(/is a folder/);
    expect(readFileSync(out, 'utf8')).toBe('keep\n');
  });

  it.skipIf(process.platform === 'win32')('writes into a pipe as it is (a partial file renamed over it would replace it)', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = readFile(fifo, 'utf8');
    const sink = await open(fifo, 'ndjson', ['bk_inst_id'], 'p', false);
    await sink.page([{ bk_inst_id: 7 }]);
    await sink.commit();
    expect(await reader).toBe('{"bk_inst_id":7}\n');
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(['pipe']);
  });

  it.skipIf(process.platform === 'win32')('a write that fails (the reader went away) ends with the error, and discard does not hang', async () => {
    const fifo = join(dir, 'gone');
    execFileSync('mkfifo', [fifo]);
    const reader = createReadStream(fifo);
    const opening = open(fifo, 'csv', ['bk_inst_id', 'n'], 'g', false);
    await once(reader, 'open');
    reader.destroy();
    const sink = await opening;
    const rows = Array.from({ length: 500 }, (_, i) => ({ bk_inst_id: i + 1, n: 'x'.repeat(200) }));
    let err: unknown;
    for (let i = 0; i < 100 && !err; i++) err = await sink.page(rows).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/cannot write .*gone: EPIPE/);
    await sink.discard();
  }, 10_000);
});
