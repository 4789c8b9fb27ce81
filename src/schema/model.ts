/**
 * CMDB model attributes (search_object_attribute) → field specs.
 * api-notes.md §2 "Attribute types and JSON values" is the table this follows.
 */
import type { FieldSpec, FieldType } from './fields.js';

export interface CmdbAttribute {
  /** The attribute's numeric id: what unique rules refer to (key_id). */
  id?: number;
  bk_property_id: string;
  bk_property_name?: string;
  bk_property_type: string;
  isrequired?: boolean;
  editable?: boolean;
  isonly?: boolean;
  ismultiple?: boolean;
  option?: unknown;
}

const KNOWN: Record<string, FieldType> = {
  singlechar: 'singlechar', longchar: 'longchar', int: 'int', float: 'float', enum: 'enum', enummulti: 'enummulti',
  date: 'date', time: 'time', timezone: 'timezone', bool: 'bool', objuser: 'objuser', organization: 'organization',
  list: 'list', enumquote: 'enumquote', json: 'json', inner_table: 'json',
};

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function attributeToField(a: CmdbAttribute): FieldSpec {
  const type = KNOWN[a.bk_property_type] ?? 'json'; // an unknown type: pass JSON values through, let the server judge
  const f: FieldSpec = {
    name: a.bk_property_id,
    type,
    label: a.bk_property_name,
    required: !!a.isrequired,
    editable: a.editable !== false,
    unique: !!a.isonly,
  };
  const opt = a.option;
  if ((type === 'int' || type === 'float') && opt && typeof opt === 'object' && !Array.isArray(opt)) {
    const o = opt as { min?: unknown; max?: unknown };
    f.min = num(o.min);
    f.max = num(o.max);
  }
  if ((type === 'enum' || type === 'enummulti') && Array.isArray(opt)) {
    f.options = opt
      .filter((o): o is { id: unknown; name?: unknown } => !!o && typeof o === 'object' && 'id' in o)
      .map((o) => ({ id: String(o.id), name: o.name === undefined ? String(o.id) : String(o.name) }));
  }
  if (type === 'list' && Array.isArray(opt)) f.listOptions = opt.map((o) => String(o));
  if (type === 'singlechar' && typeof opt === 'string' && opt !== '') {
    try {
      f.pattern = new RegExp(opt);
    } catch {
      /* a pattern JavaScript cannot read: leave the check to the server */
    }
  }
  if (type === 'enum' && a.ismultiple) f.type = 'enummulti';
  // ismultiple false: one value only (attribute.go validUser, validEnumMulti → 1199092, validOrganization).
  if (['objuser', 'enummulti', 'organization', 'enumquote'].includes(f.type) && typeof a.ismultiple === 'boolean') f.multiple = a.ismultiple;
  return f;
}

/** The unique (isonly) fields of a model, required ones first: the keys that identify an instance. */
export function uniqueFields(attrs: CmdbAttribute[]): string[] {
  return attrs
    .filter((a) => a.isonly)
    .sort((x, y) => Number(!!y.isrequired) - Number(!!x.isrequired))
    .map((a) => a.bk_property_id);
}

/**
 * Models the batch instance APIs and search_object_instances refuse (1199084; bk-cmdb src/common/mapping.go
 * IsInnerModel): their instances have their own APIs.
 */
export const BUILTIN_MODELS = new Set(['host', 'biz', 'set', 'module', 'process', 'plat', 'bk_biz_set_obj', 'bk_project']);
