/**
 * `export --assoc --format cmdb-xlsx` on its own: the cells of the workbook (the source model's header-only sheet and
 * CMDB's association sheet: header rows, column labels, one row per association), and which instance values can be
 * written as CMDB's "display name=value" pairs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workbook } from '@cj-tech-master/excelts';
import type { FieldSpec } from '../../src/schema/fields.js';
import { primaryText, type NamingRule } from '../../src/export/cmdb-assoc.js';
import { destination, RowSink } from '../../src/export/sink.js';
import { isAssociationSheet } from '../../src/input/xlsx-cmdb.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'assoc-sheet-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SPECS: FieldSpec[] = [
  { name: 'bk_inst_name', type: 'singlechar', label: '实例名', required: true },
  { name: 'port_count', type: 'int', label: '端口数' },
];

async function rowsOf(path: string): Promise<Record<string, unknown[][]>> {
  const wb = new Workbook();
  await wb.xlsx.readFile(path);
  const out: Record<string, unknown[][]> = {};
  for (const ws of wb.worksheets) {
    const rows: unknown[][] = [];
    ws.eachRow({ includeEmpty: true }, (row, n) => {
      rows[n - 1] = (row.values as unknown[]).slice(1);
    });
    out[ws.name] = rows;
  }
  return out;
}

describe('the workbook of export --assoc --format cmdb-xlsx', () => {
  it('the source model\'s six header rows and no instance, then the association sheet: labels, example row, data from row 3', async () => {
    const out = join(dir, 'links.xlsx');
    const sink = await RowSink.open(destination(out, 'cmdb-xlsx', 'bk_switch_connect_host', false), ['bk_obj_asst_id', 'operate', 'src_primary_key', 'dst_primary_key'], new Map(), {
      model: 'bk_switch',
      columns: SPECS.map((s) => s.name),
      specs: new Map(SPECS.map((s) => [s.name, s])),
    });
    await sink.page([
      { bk_obj_asst_id: 'bk_switch_connect_host', operate: 'add', src_primary_key: '实例名=sw-01', dst_primary_key: '管控区域=0,内网IP=10.0.0.1' },
      { bk_obj_asst_id: 'bk_switch_connect_host', operate: 'add', src_primary_key: '实例名==x', dst_primary_key: '管控区域=0,内网IP=10.0.0.2' },
    ]);
    await sink.commit();

    const wb = new Workbook();
    await wb.xlsx.readFile(out);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['bk_switch', 'association']);
    expect(wb.getWorksheet('association')!.columns.map((c) => c.width)).toEqual([24, 36, 12, 80, 80]);

    const sheets = await rowsOf(out);
    expect(sheets.bk_switch).toEqual([
      ['字段名(请勿编辑)', '实例名(必填)', '端口数'],
      ['字段类型(请勿编辑)', '短字符', '数字'],
      ['字段标识(请勿编辑)', 'bk_inst_name', 'port_count'],
      ['表格字段名(请勿编辑)'],
      ['表格字段类型(请勿编辑)'],
      ['表格字段标识(请勿编辑)'],
    ]);
    const asst = sheets.association!;
    expect(asst[0]).toEqual(['关联属性(请勿编辑)', '关联标识', '操作', '源实例', '目标实例']);
    expect(asst[1]).toEqual([
      '填写说明(请勿编辑)', '例如:bk_switch_connect_host', '新增/删除',
      '填写实例唯一标识,如果有多个唯一标识用逗号分隔,例如: 内网IP=XXX,管控区域=0', '填写实例唯一标识,如果有多个唯一标识用逗号分隔,例如: 内网IP=XXX,管控区域=0',
    ]);
    // Column A is empty on data rows; no formula guard: a pair is text CMDB compares as it is.
    expect(asst.slice(2)).toEqual([
      [undefined, 'bk_switch_connect_host', 'add', '实例名=sw-01', '管控区域=0,内网IP=10.0.0.1'],
      [undefined, 'bk_switch_connect_host', 'add', '实例名==x', '管控区域=0,内网IP=10.0.0.2'],
    ]);
    // The reader knows it as CMDB's association sheet by its first row.
    expect(isAssociationSheet([undefined, ...asst[0]!])).toBe(true);
  });
});

describe('an instance as CMDB\'s pairs', () => {
  const host: NamingRule = { obj: 'host', idField: 'bk_host_id', fields: [{ id: 'bk_cloud_id', name: '管控区域' }, { id: 'bk_host_innerip', name: '内网IP' }], from: 'server' };
  const sw: NamingRule = { obj: 'bk_switch', idField: 'bk_inst_id', fields: [{ id: 'bk_inst_name', name: '实例名' }], from: 'assumed' };

  it('display name=value for each field of the rule, joined by "," with no spaces; numbers as text', () => {
    expect(primaryText(host, { bk_host_id: 1, bk_cloud_id: 0, bk_host_innerip: '10.0.0.1' })).toEqual({ text: '管控区域=0,内网IP=10.0.0.1' });
    expect(primaryText(sw, { bk_inst_id: 1001, bk_inst_name: '核心 交换机' })).toEqual({ text: '实例名=核心 交换机' });
  });

  it('refuses what would not split back or is not there, naming the instance', () => {
    expect(primaryText(host, { bk_host_id: 2, bk_cloud_id: 0, bk_host_innerip: '10.0.0.2,10.8.0.2' })).toEqual({ problem: expect.stringContaining('host 2: 内网IP=10.0.0.2,10.8.0.2 cannot be written as a pair') });
    expect(primaryText(host, { bk_host_id: 3, bk_cloud_id: 0, bk_host_innerip: ['10.0.0.3', '10.8.0.3'] })).toEqual({ problem: expect.stringContaining('cannot be written as a pair') });
    expect(primaryText(sw, { bk_inst_id: 4, bk_inst_name: 'a=b' })).toEqual({ problem: expect.stringContaining('bk_switch 4: 实例名=a=b') });
    expect(primaryText(sw, { bk_inst_id: 5, bk_inst_name: ' padded ' })).toEqual({ problem: expect.stringContaining('spaces around a value') });
    expect(primaryText(sw, { bk_inst_id: 6, bk_inst_name: '' })).toEqual({ problem: 'bk_switch 6 has no bk_inst_name' });
    expect(primaryText(sw, undefined)).toEqual({ problem: expect.stringContaining('not found') });
  });
});
