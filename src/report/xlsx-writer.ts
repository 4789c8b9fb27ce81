/**
 * Writing .xlsx workbooks, streaming (rows go to the file as they are added; nothing per row stays in memory).
 * Two layouts, the same two the reader knows (src/input/xlsx.ts):
 *
 * - a plain sheet: a header row of column names, then one row per record;
 * - CMDB's own layout (TencentBlueKing/bk-cmdb src/web_server/service/excel/: core/const.go for the rows,
 *   operator/inst/exporter/tmpl_operator.go handleProperty for column A and the `(必填)` suffix,
 *   exporter/inst_func.go for the values, core/field_func.go HandleDDE for the `'` guard): column A labels,
 *   row 1 display names, row 2 type names, row 3 field ids, rows 4-6 for table sub-fields (left empty), data from
 *   row 7; enums as display names (several joined by "\n"), booleans as Excel booleans, a `'` before text that
 *   starts with = + - @. With the id column, `bk_inst_id` is column B, as on CMDB's own exports.
 *
 * Used by `--failed` of an .xlsx input (xlsx-failed.ts) and by `export --format xlsx|cmdb-xlsx`
 * (src/export/xlsx-sink.ts). The library is imported by the caller's dynamic import of this module, never at start-up.
 */
import { WorkbookWriter } from '@cj-tech-master/excelts';
import { UsageError } from '../core/errors.js';

/** One field of the model, for CMDB's layout (from search_object_attribute). */
export interface CmdbColumn {
  id: string; // bk_property_id
  name: string; // bk_property_name
  type: string; // bk_property_type
  required?: boolean;
  options?: Array<{ id: string; name: string }>; // enum / enummulti
}

/** A sheet being written: rows in order, then finish() once. */
export interface SheetWriter {
  /** One row of cells in column order (A, B, ...). */
  addRow(cells: readonly unknown[]): void;
  finish(): Promise<void>;
}

// resources/language/default/fieldtype.json (the labels CMDB writes for the Chinese UI).
const CMDB_LABELS = ['字段名(请勿编辑)', '字段类型(请勿编辑)', '字段标识(请勿编辑)', '表格字段名(请勿编辑)', '表格字段类型(请勿编辑)', '表格字段标识(请勿编辑)'];
const CMDB_TYPE_NAMES: Record<string, string> = {
  singlechar: '短字符', longchar: '长字符', int: '数字', float: '浮点', enum: '枚举', enummulti: '枚举(多选)',
  enumquote: '枚举(引用)', date: '日期', time: '时间', objuser: '用户', timezone: '时区', bool: '布尔',
  organization: '组织', list: '列表', innertable: '表格',
};
const REQUIRED_SUFFIX = '(必填)'; // resources/language/default/web.json web_excel_header_required
const ID_COLUMN: CmdbColumn = { id: 'bk_inst_id', name: '实例ID', type: 'int' };

/** A streaming workbook at `path` (inline strings, no styles), or a usage error naming the path. */
export function openWorkbook(path: string): WorkbookWriter {
  try {
    return new WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: false });
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

async function openSheet(path: string, sheet: string): Promise<SheetWriter> {
  const wb = openWorkbook(path);
  const ws = wb.addWorksheet(safeSheetName(sheet));
  let done = false;
  return {
    addRow(cells) {
      if (done) throw new Error('xlsx writer: addRow() after finish()');
      ws.addRow(cells.map(cellValue)).commit();
    },
    async finish() {
      if (done) return;
      done = true;
      await ws.commit();
      await wb.commit();
    },
  };
}

/** A value as a cell: numbers, booleans and text as they are; objects and arrays as JSON text. */
function cellValue(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return escapeText(v);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return escapeText(JSON.stringify(v));
}

/**
 * Excel reads `_xHHHH_` in a cell's text as the character HHHH (how it stores control characters), and so does this
 * tool's reader (input/xlsx-xml.ts); the library writes text as it is. So a text that holds such a sequence gets
 * Excel's own escape, `_x005F_` for its `_`, and reads back as written, in Excel and here.
 */
function escapeText(s: string): string {
  return s.indexOf('_x') === -1 ? s : s.replace(/_(?=x[0-9A-Fa-f]{4}_)/g, '_x005F_');
}

/** Excel refuses sheet names over 31 characters or with : \ / ? * [ ]. */
export function safeSheetName(name: string): string {
  const s = name.replace(/[:\\/?*[\]]/g, '_').slice(0, 31);
  return s === '' ? 'Sheet1' : s;
}

/** A plain sheet: `header` in row 1, then addRow() per record. */
export async function openPlainSheet(path: string, sheet: string, header: readonly string[]): Promise<SheetWriter> {
  const w = await openSheet(path, sheet);
  w.addRow(header);
  return w;
}

export interface CmdbSheetWriter {
  /** One instance: its values by field id, as the server holds them (enum ids, arrays, booleans...). */
  addInstance(values: Record<string, unknown>): void;
  finish(): Promise<void>;
}

/**
 * CMDB's layout for model `objId`: a sheet named after it with the six header rows, then one row per instance.
 * `withIds`: column B holds bk_inst_id (an export, to update from); without it, a template to create from.
 */
export async function openCmdbSheet(path: string, objId: string, fields: readonly CmdbColumn[], withIds: boolean): Promise<CmdbSheetWriter> {
  const cols = withIds ? [ID_COLUMN, ...fields.filter((f) => f.id !== ID_COLUMN.id)] : [...fields];
  const w = await openSheet(path, objId);
  for (const row of cmdbHeaderRows(cols)) w.addRow(row);
  return {
    addInstance(values) {
      w.addRow([null, ...cols.map((f) => cmdbCell(f, values[f.id]))]);
    },
    finish: () => w.finish(),
  };
}

/** The six header rows of CMDB's layout for these columns (also the whole sheet of an empty template). */
export function cmdbHeaderRows(cols: readonly CmdbColumn[]): unknown[][] {
  return [
    [CMDB_LABELS[0], ...cols.map((f) => ddeGuard(f.name + (f.required ? REQUIRED_SUFFIX : '')))],
    [CMDB_LABELS[1], ...cols.map((f) => CMDB_TYPE_NAMES[f.type] ?? f.type)],
    [CMDB_LABELS[2], ...cols.map((f) => f.id)],
    ...CMDB_LABELS.slice(3).map((label) => [label]),
  ];
}

/** A value as CMDB's exporter writes it (exporter/inst_func.go). */
export function cmdbCell(f: CmdbColumn, v: unknown): unknown {
  if (v === undefined || v === null || v === '') return null;
  const name = (id: unknown) => f.options?.find((o) => o.id === String(id))?.name ?? String(id);
  switch (f.type) {
    case 'enum':
      return ddeGuard(name(v));
    case 'enummulti':
      return ddeGuard((Array.isArray(v) ? v : [v]).map(name).join('\n'));
    case 'bool':
      return typeof v === 'boolean' ? v : v === 'true';
    case 'int':
    case 'float':
      return typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : String(v);
    default:
      return typeof v === 'string' ? ddeGuard(v) : cellValue(v);
  }
}

/** core/field_func.go HandleDDE: text starting with = + - @ gets a literal `'` so Excel never runs it. */
export function ddeGuard(s: string): string {
  const t = s.trim();
  return /^[=+\-@]/.test(t) ? `'${t}` : t;
}
