import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { attributeToField } from '../../src/schema/model.js';
import { buildShape, shapeRow } from '../../src/schema/rows.js';
import { FailedRowsWriter } from '../../src/report/failed-file.js';
import { ddeGuard, openCmdbSheet, openPlainSheet, type CmdbColumn } from '../../src/report/xlsx-writer.js';
import { openInput } from '../../src/input/index.js';
import { readAll, tempDir } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

const attrs = [
  { bk_property_id: 'bk_inst_name', bk_property_name: '实例名', bk_property_type: 'singlechar', isrequired: true },
  { bk_property_id: 'port_count', bk_property_name: '端口数', bk_property_type: 'int' },
  { bk_property_id: 'is_managed', bk_property_name: '是否纳管', bk_property_type: 'bool' },
  { bk_property_id: 'vendor', bk_property_name: '厂商', bk_property_type: 'enum', option: [{ id: 'cisco', name: 'Cisco' }, { id: 'huawei', name: '华为' }] },
  { bk_property_id: 'tags', bk_property_name: '标签', bk_property_type: 'enummulti', option: [{ id: 'core', name: '核心' }, { id: 'access', name: '接入' }] },
  { bk_property_id: 'remark', bk_property_name: '备注', bk_property_type: 'longchar' },
];
const columns: CmdbColumn[] = attrs.map((a) => ({ id: a.bk_property_id, name: a.bk_property_name, type: a.bk_property_type, required: a.isrequired, options: a.option as CmdbColumn['options'] }));

describe('xlsx writer', () => {
  it('CMDB layout with ids: what it writes reads back to the same values', async () => {
    const file = t.dir + '/export.xlsx';
    const w = await openCmdbSheet(file, 'bk_switch', columns, true);
    const inst = { bk_inst_id: 1001, bk_inst_name: 'sw-1', port_count: 48, is_managed: true, vendor: 'huawei', tags: ['core', 'access'], remark: '=HYPERLINK("x")' };
    w.addInstance(inst);
    w.addInstance({ bk_inst_id: 1002, bk_inst_name: 'sw-2', is_managed: false, vendor: 'cisco', tags: ['core'] });
    await w.finish();

    const src = await openInput({ file, obj: 'bk_switch' });
    expect(src.sheet).toEqual({ name: 'bk_switch', layout: 'cmdb' });
    expect(src.columns).toEqual(['bk_inst_id', ...columns.map((c) => c.id)]);
    await src.close();
    const recs = await readAll({ file, obj: 'bk_switch' });
    expect(recs.map((r) => r.row)).toEqual([7, 8]);
    const shape = buildShape(attrs.map(attributeToField), { control: ['bk_inst_id'], what: 'model bk_switch' });
    const back = recs.map((r) => ({ id: r.values.bk_inst_id, ...shapeRow(shape, r.values, true, true) }));
    expect(back.map((b) => b.errors)).toEqual([[], []]);
    const { bk_inst_id: _id, ...fields } = inst;
    expect(back.map((b) => [b.id, { ...b.payload }])).toEqual([
      ['1001', fields],
      ['1002', { bk_inst_name: 'sw-2', is_managed: false, vendor: 'cisco', tags: ['core'] }],
    ]);
  });

  it('CMDB layout: row 1 has display names with (必填), row 2 type names, and no id column for a template', async () => {
    const file = t.dir + '/template.xlsx';
    const w = await openCmdbSheet(file, 'bk_switch', columns, false);
    await w.finish();
    const { Workbook } = await import('@cj-tech-master/excelts');
    const wb = new Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.getWorksheet('bk_switch')!;
    expect(ws.getRow(1).values).toEqual([undefined, '字段名(请勿编辑)', '实例名(必填)', '端口数', '是否纳管', '厂商', '标签', '备注']);
    expect(ws.getRow(2).values).toEqual([undefined, '字段类型(请勿编辑)', '短字符', '数字', '布尔', '枚举', '枚举(多选)', '长字符']);
    expect(ws.getRow(3).getCell(2).value).toBe('bk_inst_name');
    expect(await readAll({ file })).toEqual([]);
  });

  it('guards text that Excel would run, as CMDB does', () => {
    expect(['=1+1', '+86', '-x', '@a', 'ok'].map(ddeGuard)).toEqual(["'=1+1", "'+86", "'-x", "'@a", 'ok']);
  });

  it('a plain sheet keeps numbers, booleans and text typed', async () => {
    const file = t.dir + '/plain.xlsx';
    const w = await openPlainSheet(file, 'bk_switch', ['a', 'b', 'c', 'd']);
    w.addRow(['x', 3, true, { k: 1 }]);
    await w.finish();
    expect((await readAll({ file })).map((r) => ({ ...r.values }))).toEqual([{ a: 'x', b: '3', c: 'true', d: '{"k":1}' }]);
  });

  it("keeps a text that looks like Excel's _xHHHH_ escape as written (plain sheet and CMDB layout)", async () => {
    const texts = ['a_x0041_b', '_x005F_', 'x_x00e9_', 'plain_x41_'];
    const plain = t.dir + '/escape.xlsx';
    const w = await openPlainSheet(plain, 'bk_switch', ['a']);
    for (const s of texts) w.addRow([s]);
    await w.finish();
    expect((await readAll({ file: plain })).map((r) => r.values.a)).toEqual(texts);
    const cmdb = t.dir + '/escape-cmdb.xlsx';
    const c = await openCmdbSheet(cmdb, 'bk_switch', columns, true);
    texts.forEach((s, i) => c.addInstance({ bk_inst_id: i + 1, bk_inst_name: s, remark: s }));
    await c.finish();
    expect((await readAll({ file: cmdb, obj: 'bk_switch' })).map((r) => [r.values.bk_inst_name, r.values.remark])).toEqual(texts.map((s) => [s, s]));
  });

  it('--failed of an xlsx input is an xlsx with the input columns and _error last, and loads again', async () => {
    const file = t.dir + '/failed.xlsx';
    const vals = (o: Record<string, unknown>) => Object.assign(Object.create(null), o) as Record<string, unknown>;
    const w = await FailedRowsWriter.open({ path: file, format: 'xlsx', columns: ['bk_inst_name', 'port_count:int', '_error'], sheet: 'bk_switch' });
    w.add(vals({ bk_inst_name: 'sw-1', port_count: 'many', _error: 'old' }), 'port_count: expected a whole number');
    w.add(vals({ bk_inst_name: '=x', port_count: '2' }), 'duplicated');
    expect(w.count).toBe(2);
    await w.finish();
    const src = await openInput({ file, obj: 'bk_switch' });
    expect([src.sheet?.name, src.columns, src.hints]).toEqual(['bk_switch', ['bk_inst_name', 'port_count', '_error'], { port_count: 'int' }]);
    await src.close();
    expect((await readAll({ file })).map((r) => [r.row, { ...r.values }])).toEqual([
      [2, { bk_inst_name: 'sw-1', port_count: 'many', _error: 'port_count: expected a whole number' }],
      [3, { bk_inst_name: '=x', port_count: '2', _error: 'duplicated' }],
    ]);
  });

  it('--failed fix.csv of an xlsx input is a CSV, as its name says', async () => {
    const file = t.dir + '/fix.csv';
    const w = await FailedRowsWriter.open({ path: file, format: 'xlsx', columns: ['实例名', 'port_count:int'], sheet: 'bk_switch' });
    w.add(Object.assign(Object.create(null), { 实例名: 'sw-1', port_count: 'x' }), 'port_count: expected a whole number');
    await w.finish();
    expect(readFileSync(file, 'utf8')).toBe('实例名,port_count:int,_error\nsw-1,x,port_count: expected a whole number\n');
  });
});
