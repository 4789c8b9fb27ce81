/**
 * Workbooks the tests build with the library's own writer: CMDB's layout (as the web UI's template and export
 * write it: bk-cmdb src/web_server/service/excel/operator/inst/exporter/) and a plain sheet as Excel saves it
 * (shared strings, stored after the sheet as Excel does).
 */
import { Workbook } from '@cj-tech-master/excelts';

export const CMDB_LABELS = ['字段名(请勿编辑)', '字段类型(请勿编辑)', '字段标识(请勿编辑)', '表格字段名(请勿编辑)', '表格字段类型(请勿编辑)', '表格字段标识(请勿编辑)'];

// The columns of bk_switch as CMDB's template writes them (display name, type name, field id).
export const BK_SWITCH_TEMPLATE: Array<[string, string, string]> = [
  ['实例名(必填)', '短字符', 'bk_inst_name'],
  ['固资编号(必填)', '短字符', 'bk_asset_id'],
  ['维护人', '用户', 'bk_operator'],
  ['端口数', '数字', 'port_count'],
  ['是否纳管', '布尔', 'is_managed'],
  ['厂商', '枚举', 'vendor'],
  ['采购日期', '日期', 'bought_on'],
  ['备注', '长字符', 'remark'],
  ['标签', '枚举(多选)', 'tags'],
];

export interface CmdbSheetSpec {
  sheet: string;
  /** [display name as in row 1, type name as in row 2, field id] per column from B on. */
  columns: Array<[string, string, string]>;
  /** Data rows from row 7, cells from column B on. */
  rows: unknown[][];
  /** Number formats by 1-based column of `columns` (e.g. a date column). */
  numFmt?: Record<number, string>;
  /** Extra sheets before the model's (CMDB puts enum and association sheets beside it). */
  otherSheets?: string[];
  /** Put "实例数据" in column A of the first data row, as some CMDB versions do. */
  dataLabel?: boolean;
}

export async function writeCmdbWorkbook(path: string, spec: CmdbSheetSpec): Promise<void> {
  const wb = new Workbook();
  for (const name of spec.otherSheets ?? []) wb.addWorksheet(name).addRow(['not this one']);
  const ws = wb.addWorksheet(spec.sheet);
  ws.addRow([CMDB_LABELS[0], ...spec.columns.map((c) => c[0])]);
  ws.addRow([CMDB_LABELS[1], ...spec.columns.map((c) => c[1])]);
  ws.addRow([CMDB_LABELS[2], ...spec.columns.map((c) => c[2])]);
  for (const l of CMDB_LABELS.slice(3)) ws.addRow([l]);
  spec.rows.forEach((r, i) => ws.addRow([i === 0 && spec.dataLabel ? '实例数据' : null, ...r]));
  for (const [col, fmt] of Object.entries(spec.numFmt ?? {})) ws.getColumn(Number(col) + 1).numFmt = fmt;
  await wb.xlsx.writeFile(path);
}

/** A plain sheet: header in row `headerRow` (default 1), rows below it; `numFmt` by 1-based column. */
export async function writePlainWorkbook(
  path: string,
  sheet: string,
  header: unknown[],
  rows: unknown[][],
  o: { numFmt?: Record<number, string>; headerRow?: number; otherSheets?: string[] } = {},
): Promise<void> {
  const wb = new Workbook();
  for (const name of o.otherSheets ?? []) wb.addWorksheet(name).addRow(['other', 'sheet']);
  const ws = wb.addWorksheet(sheet);
  const start = o.headerRow ?? 1;
  ws.getRow(start).values = header as never;
  rows.forEach((r, i) => {
    if (r.length > 0) ws.getRow(start + 1 + i).values = r as never;
  });
  for (const [col, fmt] of Object.entries(o.numFmt ?? {})) ws.getColumn(Number(col)).numFmt = fmt;
  await wb.xlsx.writeFile(path);
}

/**
 * CMDB's `association` sheet as its export writes it (core/const.go AsstSheet; exporter/tmpl_operator.go
 * writeAsstHeader): labels in column A, the header in row 1, an example row 2, data rows from row 3 with the
 * association id, the operation (add / delete; empty on export), the source and target instance as
 * "display name=value" pairs in columns B-E.
 */
export const ASSOCIATION_HEADER = [
  ['关联属性(请勿编辑)', '关联标识', '操作', '源实例', '目标实例'],
  ['填写说明(请勿编辑)', '例如:bk_switch_connect_host', '新增/删除', '填写实例唯一标识,如果有多个唯一标识用逗号分隔,例如: 内网IP=XXX,管控区域=0', '填写实例唯一标识,如果有多个唯一标识用逗号分隔,例如: 内网IP=XXX,管控区域=0'],
];

/** A CMDB workbook: the model's sheet (spec) and then the association sheet with `links` ([id, op, src, dst]). */
export async function writeCmdbAssociationWorkbook(path: string, spec: CmdbSheetSpec, links: Array<[string, string, string, string]>): Promise<void> {
  const wb = new Workbook();
  const ws = wb.addWorksheet(spec.sheet);
  ws.addRow([CMDB_LABELS[0], ...spec.columns.map((c) => c[0])]);
  ws.addRow([CMDB_LABELS[1], ...spec.columns.map((c) => c[1])]);
  ws.addRow([CMDB_LABELS[2], ...spec.columns.map((c) => c[2])]);
  for (const l of CMDB_LABELS.slice(3)) ws.addRow([l]);
  for (const r of spec.rows) ws.addRow([null, ...r]);
  const asst = wb.addWorksheet('association');
  for (const r of ASSOCIATION_HEADER) asst.addRow(r);
  for (const l of links) asst.addRow([null, ...l]);
  await wb.xlsx.writeFile(path);
}
