/**
 * The workbook of `export --assoc --format cmdb-xlsx`, as CMDB's web UI lays it out (TencentBlueKing/bk-cmdb master
 * 111e7ac, src/web_server/service/excel/):
 *
 * - a sheet named after the source model with CMDB's six header rows and no instance: CMDB's importer opens the sheet
 *   named after the model whose import page is used and reads its header before it imports the association sheet
 *   (operator/inst/importer/importer.go importInst → getPropertyMap; with no instance row it goes on to
 *   importAssociation), so an association sheet alone is refused;
 * - the `association` sheet (core/const.go AsstSheet; operator/inst/exporter/tmpl_operator.go writeAsstHeader):
 *   row 1 column A "关联属性(请勿编辑)" and the column names 关联标识 / 操作 / 源实例 / 目标实例 in B-E, row 2 column A
 *   "填写说明(请勿编辑)" and an example per column (resources/language/default/import_instance.json), data from row 3
 *   (AsstDataRowIdx 2): B the bk_obj_asst_id, C the operation, D and E the source and target instance;
 *   column widths 24, 36, 12, 80, 80 (setAsstColWidth).
 *
 * One difference: CMDB's export leaves the operation (C) empty, and its importer refuses a row with an empty operation
 * (importer.go getAsstFromExcel). This file writes `add`, so it imports as it is.
 */
import { cmdbHeaderRows, openWorkbook, safeSheetName, type CmdbColumn } from '../report/xlsx-writer.js';

export const ASSOCIATION_SHEET = 'association';

// resources/language/default/import_instance.json: excel_association_attribute, excel_association_object_id,
// excel_association_op, excel_association_src_inst, excel_association_dst_inst; excel_field_description and the
// excel_example_* texts.
const EXAMPLE_INSTANCE = '填写实例唯一标识,如果有多个唯一标识用逗号分隔,例如: 内网IP=XXX,管控区域=0';
export const ASSOCIATION_HEADER: ReadonlyArray<readonly string[]> = [
  ['关联属性(请勿编辑)', '关联标识', '操作', '源实例', '目标实例'],
  ['填写说明(请勿编辑)', '例如:bk_switch_connect_host', '新增/删除', EXAMPLE_INSTANCE, EXAMPLE_INSTANCE],
];
const WIDTHS = [24, 36, 12, 80, 80];

/** One association as a row of the sheet: its kind, the operation, the source and target named by their pairs. */
export interface AssociationCells {
  bk_obj_asst_id: string;
  operate: string;
  src_primary_key: string;
  dst_primary_key: string;
}

export interface AssociationBookWriter {
  add(a: AssociationCells): void;
  finish(): Promise<void>;
}

/** Opens the workbook: writes the model's empty sheet and the association sheet's two header rows. */
export async function openAssociationBook(path: string, model: string, fields: readonly CmdbColumn[]): Promise<AssociationBookWriter> {
  const wb = openWorkbook(path);
  const template = wb.addWorksheet(safeSheetName(model));
  for (const row of cmdbHeaderRows(fields)) template.addRow(row as unknown[]).commit();
  await template.commit();
  const ws = wb.addWorksheet(ASSOCIATION_SHEET);
  ws.columns = WIDTHS.map((width) => ({ width }));
  for (const row of ASSOCIATION_HEADER) ws.addRow([...row]).commit();
  let done = false;
  return {
    add(a) {
      if (done) throw new Error('association sheet: add() after finish()');
      ws.addRow([null, a.bk_obj_asst_id, a.operate, a.src_primary_key, a.dst_primary_key]).commit();
    },
    async finish() {
      if (done) return;
      done = true;
      await ws.commit();
      await wb.commit();
    },
  };
}
