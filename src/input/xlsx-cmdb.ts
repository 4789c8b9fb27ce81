/**
 * CMDB's own workbook layout (the web UI's import template and export), read from the source of
 * TencentBlueKing/bk-cmdb (src/web_server/service/excel/, resources/language/{default,en}/fieldtype.json):
 *
 * - core/const.go: NameRowIdx 0, TypeRowIdx 1, IDRowIdx 2 (field ids: the only row the importer maps by),
 *   TableNameRowIdx..TableIDRowIdx 3-5 (table sub-fields), InstRowIdx 6 (data from sheet row 7).
 * - operator/inst/exporter/tmpl_operator.go (handleProperty): column A holds the labels "字段名(请勿编辑)",
 *   "字段类型(请勿编辑)", "字段标识(请勿编辑)", ... (English: "Field name(Please do not edit)", ...); older
 *   versions had only the first three, with data from row 4.
 * - operator/inst/exporter/inst_func.go: enum cells hold display names (enummulti: joined by "\n"); strings get
 *   a literal `'` before = + - @ (core/field_func.go HandleDDE); users are written `en(中文名)` comma-separated
 *   (core/field_func.go); booleans as Excel booleans.
 * - operator/inst/importer/inst_func.go: how CMDB reads them back (enum names → ids, "\n" for several, user
 *   brackets removed, organizations `[id]name`). This module does the same, so the field checks get what a CSV
 *   would hold.
 */

/** Column A labels, normalised (see labelKey): which header row each one names. */
const LABELS: Record<string, 'name' | 'type' | 'id' | 'tableName'> = {
  [labelKey('字段名(请勿编辑)')]: 'name',
  [labelKey('Field name(Please do not edit)')]: 'name',
  [labelKey('字段类型(请勿编辑)')]: 'type',
  [labelKey('Field type(Please do not edit)')]: 'type',
  [labelKey('字段标识(请勿编辑)')]: 'id',
  [labelKey('Field ID(Please do not edit)')]: 'id',
  [labelKey('表格字段名(请勿编辑)')]: 'tableName',
  [labelKey('Table Field name(Please do not edit)')]: 'tableName',
};

/** The type names of row 2 (fieldtype.json, both languages) → bk_property_type. */
const TYPE_NAMES: Record<string, string> = {
  短字符: 'singlechar', 长字符: 'longchar', 数字: 'int', 浮点: 'float', 枚举: 'enum', '枚举(多选)': 'enummulti',
  '枚举(引用)': 'enumquote', 日期: 'date', 时间: 'time', 用户: 'objuser', 时区: 'timezone', 布尔: 'bool', 组织: 'organization',
  列表: 'list', 表格: 'innertable',
  'short character': 'singlechar', 'long character': 'longchar', number: 'int', float: 'float', enumeration: 'enum',
  'enum multiple': 'enummulti', 'enum quote': 'enumquote', date: 'date', time: 'time', user: 'objuser',
  'time zone': 'timezone', boolean: 'bool', organization: 'organization', list: 'list', table: 'innertable',
};

/** Lower case, no spaces, ASCII brackets: "Field ID (Please do not edit)" and "字段标识（请勿编辑）" match too. */
function labelKey(s: string): string {
  return s.replace(/（/g, '(').replace(/）/g, ')').replace(/\s+/g, '').toLowerCase();
}

/** What column A of the first rows says: the CMDB layout, and the sheet row its data starts on; else null. */
export function cmdbLayout(columnA: ReadonlyMap<number, unknown>): { dataRow: number } | null {
  const label = (row: number) => {
    const v = columnA.get(row);
    return typeof v === 'string' ? LABELS[labelKey(v)] : undefined;
  };
  if (label(1) !== 'name' || label(3) !== 'id') return null;
  return { dataRow: label(4) === 'tableName' ? 7 : 4 };
}

/** The bk_property_type a row-2 type name stands for, if known. */
export function typeOfName(name: unknown): string | undefined {
  return typeof name === 'string' ? TYPE_NAMES[name.trim().toLowerCase()] : undefined;
}

// importer/inst_func.go userBracketsPattern: the "(中文名)" after each user name.
const USER_BRACKETS = /\([\p{L}\p{N}@ .,_-]*\)/gu;
// importer/inst_func.go organizationBracketsPattern: "[id]name".
const ORGANIZATION = /\[(\d+)\][^\s,]*/g;
const FORMULA_GUARD = /^'[=+\-@]/;

/**
 * A text cell of a CMDB workbook as CMDB's own importer reads it, for a column of type `type`: the formula guard
 * removed, users without their display names, several enum names as a JSON list (the field check maps names to
 * ids), organizations as their ids.
 */
export function cmdbCellText(text: string, type: string | undefined): string {
  const t = FORMULA_GUARD.test(text) ? text.slice(1) : text;
  switch (type) {
    case 'objuser':
      return t
        .replace(USER_BRACKETS, '')
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '')
        .join(',');
    case 'enummulti':
    case 'enumquote':
      return t.includes('\n') ? JSON.stringify(t.split('\n').map((s) => s.trim()).filter((s) => s !== '')) : t;
    case 'organization': {
      const ids = [...t.matchAll(ORGANIZATION)].map((m) => m[1]);
      return ids.length ? ids.join(',') : t;
    }
    default:
      return t;
  }
}

/**
 * CMDB's `association` sheet (core/const.go: AsstSheet "association", header row 1 and an example row 2
 * (AsstStartRowIdx 0, AsstExampleRowIdx 1), data from sheet row 3 (AsstDataRowIdx 2); columns B association id
 * (AsstIDColIdx 1), C operation add / delete (AsstOPColIdx 2, AsstOps), D source instance (AsstSrcInstColIdx 3),
 * E target instance (AsstDstInstColIdx 4); column A holds the labels "关联属性(请勿编辑)" / "填写说明(请勿编辑)"
 * (operator/inst/exporter/tmpl_operator.go writeAsstHeader; resources/language/{default,en}/import_instance.json).
 * Its columns are read under the names CMDB's importer gives them (common/metadata/webserver.go ExcelAssociation).
 */
export const ASSOCIATION_SHEET = 'association';
export const ASSOCIATION_FIRST_ROW = 3;
/** Column name by Excel column number (1 = A). */
export const ASSOCIATION_COLUMNS: Array<string | undefined> = [undefined, undefined, 'bk_obj_asst_id', 'operate', 'src_primary_key', 'dst_primary_key'];

const ASSOCIATION_A1 = new Set([labelKey('关联属性(请勿编辑)'), labelKey('association_attribute(Please do not edit)')]);
const ASSOCIATION_B1 = new Set([labelKey('关联标识'), labelKey('association ID')]);

/** Whether a sheet's first row is the header of CMDB's association sheet (column A's label, or B1's "关联标识"). */
export function isAssociationSheet(firstRow: readonly unknown[]): boolean {
  const key = (v: unknown) => (typeof v === 'string' ? labelKey(v) : '');
  return ASSOCIATION_A1.has(key(firstRow[1])) || ASSOCIATION_B1.has(key(firstRow[2]));
}
