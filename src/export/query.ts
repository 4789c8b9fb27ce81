/**
 * What an export asks for, checked against the model before any instance is read: the columns (`--fields`, or
 * every field update-inst can load back) and the filter (`--where field=value`, values coerced by the field's
 * type exactly as a CSV cell would be, so `--where vendor=华为` finds `huawei` and `--where port_count=48` the
 * number 48). Every problem is reported at once.
 */
import { UsageError } from '../core/errors.js';
import { compileField, didYouMean, type FieldSpec } from '../schema/fields.js';

/** The column that names the instance in every exported file: update-inst and delete-inst read it. */
export const ID_COLUMN = 'bk_inst_id';

/** A querybuilder rule (bk-cmdb `src/common/querybuilder`, also accepted by `pkg/filter`). */
export interface Rule {
  field: string;
  operator: 'equal' | 'in' | 'greater';
  value: unknown;
}

export interface ColumnPlan {
  /** bk_inst_id first, then the fields in model order (or in --fields order). */
  columns: string[];
  /** Fields left out by default because update-inst refuses them (not editable). */
  leftOut: string[];
}

const ID_SPEC: FieldSpec = { name: ID_COLUMN, type: 'id' };

/** The field specs by name, the id column included. */
export function specIndex(specs: FieldSpec[]): Map<string, FieldSpec> {
  return new Map([[ID_COLUMN, ID_SPEC], ...specs.map((s) => [s.name, s] as const)]);
}

function unknownField(name: string, known: Map<string, FieldSpec>, what: string): string {
  const near = didYouMean(name, known.keys());
  return `${what}: "${name}" is not a field of this model${near ? ` (did you mean "${near}"?)` : ''}`;
}

/** `--fields a,b` (names checked), or every editable field; the id column always comes first. */
export function planColumns(specs: FieldSpec[], fields: string | undefined): ColumnPlan {
  const known = specIndex(specs);
  if (fields === undefined) {
    const fields = specs.filter((s) => s.name !== ID_COLUMN);
    return {
      columns: [ID_COLUMN, ...fields.filter((s) => s.editable !== false).map((s) => s.name)],
      leftOut: fields.filter((s) => s.editable === false).map((s) => s.name),
    };
  }
  const asked = fields.split(',').map((f) => f.trim()).filter((f) => f !== '');
  const problems = asked.filter((f) => !known.has(f)).map((f) => unknownField(f, known, '--fields'));
  if (asked.length === 0) problems.push('--fields: no field named (give a comma-separated list such as bk_asset_id,bk_sn)');
  if (problems.length) throw new UsageError(problems.join('\n'), 'leave out --fields to export every field: the header row names them');
  return { columns: [ID_COLUMN, ...new Set(asked.filter((f) => f !== ID_COLUMN))], leftOut: [] };
}

/**
 * `--where field=value` (repeatable) → rules, ANDed; the same field given twice or more matches any of its values
 * (`in`). Values are read like CSV cells of that field.
 */
export function whereRules(where: string[], specs: FieldSpec[]): Rule[] {
  const known = specIndex(specs);
  const problems: string[] = [];
  const values = new Map<string, unknown[]>();
  for (const w of where) {
    const eq = w.indexOf('=');
    const name = eq > 0 ? w.slice(0, eq).trim() : '';
    if (!name) {
      problems.push(`--where "${w}": expected field=value, e.g. --where vendor=huawei`);
      continue;
    }
    const spec = known.get(name);
    if (!spec) {
      problems.push(unknownField(name, known, `--where ${w}`));
      continue;
    }
    if (spec.type === 'enummulti' || spec.type === 'organization' || spec.type === 'json') {
      problems.push(`--where ${w}: ${name} holds a list; export filters on single-value fields only`);
      continue;
    }
    const r = compileField({ ...spec, pattern: undefined, maxLength: undefined })(w.slice(eq + 1), true);
    if (r.error !== undefined) problems.push(`--where ${w}: ${r.error}`);
    else values.set(name, [...(values.get(name) ?? []), r.value]);
  }
  if (problems.length) throw new UsageError(problems.join('\n'), 'fix the --where options; values are written as in a CSV cell of that field');
  return [...values].map(([field, v]) => (v.length === 1 ? { field, operator: 'equal', value: v[0] } : { field, operator: 'in', value: v }));
}
