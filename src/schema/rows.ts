/**
 * Row shapes: the set of fields an operation accepts, compiled once per run, and the one function that turns a
 * record's values into the payload to send plus every problem found (all of them, not just the first).
 */
import { nullObject } from '../core/objects.js';
import type { TypeHint } from '../core/types.js';
import { compileField, didYouMean, hintField, NOT_QUICK, type Checker, type FieldSpec } from './fields.js';

export interface FieldError {
  field?: string;
  value?: unknown;
  message: string;
}

export interface RowShape {
  readonly fields: ReadonlyMap<string, { spec: FieldSpec; check: Checker }>;
  /** Columns that are not fields but are read by the operation itself (bk_inst_id of update-inst, _id...). */
  readonly control: ReadonlySet<string>;
  /** Unknown columns are passed through untouched (no model: --no-schema, Feishu without hints). */
  allowUnknown: boolean;
  /** Required fields must be present (create); on update a row only carries what changes. */
  checkRequired: boolean;
  /** Empty CSV cells: left out ('omit', the default) or sent as JSON null ('null', to clear a field). */
  empty: 'omit' | 'null';
  /** Where names come from, for messages: "model bk_switch". */
  what: string;
  /** Every known name → CONTROL or its field: one look-up per cell in shapeRow (it runs for every cell twice). */
  readonly index: ReadonlyMap<string, IndexEntry>;
  /** Names of the required fields. */
  readonly required: readonly string[];
  /**
   * The keys of the last row shaped and what `index` said for each: rows of one file mostly have the same keys
   * in the same order (always, for CSV), so a key is usually found by one identity comparison, not a hash look-up.
   */
  readonly memo: { keys: string[]; entries: Array<IndexEntry | undefined> };
}

type IndexEntry = typeof CONTROL | { spec: FieldSpec; check: Checker };

const CONTROL = 0;

export interface ShapeOptions {
  control?: string[];
  allowUnknown?: boolean;
  checkRequired?: boolean;
  empty?: 'omit' | 'null';
  hints?: Record<string, TypeHint>;
  what: string;
}

/** Columns the tool itself writes into files it produces (the --failed file); ignored on input. */
export const IGNORED_COLUMNS = new Set(['_error']);

export function buildShape(specs: FieldSpec[], o: ShapeOptions): RowShape {
  const fields = new Map<string, { spec: FieldSpec; check: Checker }>();
  for (const s of specs) fields.set(s.name, { spec: s, check: compileField(s) });
  // A header type hint wins over nothing but never over the model: the model is the truth when we have it.
  for (const [name, hint] of Object.entries(o.hints ?? {})) {
    if (!fields.has(name) && !(o.control ?? []).includes(name)) {
      const spec = hintField(name, hint);
      fields.set(name, { spec, check: compileField(spec) });
    }
  }
  const control = new Set([...(o.control ?? []), ...IGNORED_COLUMNS]);
  const index = new Map<string, IndexEntry>(fields);
  for (const c of control) index.set(c, CONTROL);
  return {
    fields,
    control,
    allowUnknown: o.allowUnknown ?? false,
    checkRequired: o.checkRequired ?? false,
    empty: o.empty ?? 'omit',
    what: o.what,
    index,
    required: [...fields.values()].filter((f) => f.spec.required).map((f) => f.spec.name),
    memo: { keys: [], entries: [] },
  };
}

/** Names in `columns` that the shape does not know, each with a suggestion when one is close. */
export function unknownColumns(shape: RowShape, columns: Iterable<string>): FieldError[] {
  if (shape.allowUnknown) return [];
  const out: FieldError[] = [];
  for (const c of columns) {
    if (shape.fields.has(c) || shape.control.has(c)) continue;
    const near = didYouMean(c, [...shape.fields.keys(), ...shape.control]);
    out.push({
      field: c,
      message: `unknown field "${c}" for ${shape.what}${near ? ` (did you mean "${near}"?)` : ''}; the server would silently drop it`,
    });
  }
  return out;
}

export interface ShapedRow {
  payload: Record<string, unknown>;
  errors: FieldError[];
}

/**
 * Checks and coerces one record's values. `isText`: CSV cells (coerce) vs JSON values (check only).
 * `knownColumns`: true when the columns were already checked once for the whole file (CSV header).
 */
export function shapeRow(shape: RowShape, values: Record<string, unknown>, isText: boolean, knownColumns: boolean): ShapedRow {
  const payload = nullObject();
  const errors: FieldError[] = [];
  const { index, memo } = shape;
  let k = 0;
  for (const key in values) {
    let f: IndexEntry | undefined;
    if (memo.keys[k] === key) f = memo.entries[k];
    else {
      f = index.get(key);
      memo.keys[k] = key;
      memo.entries[k] = f;
    }
    k++;
    if (f === CONTROL) continue;
    const raw = values[key];
    if (!f) {
      if (shape.allowUnknown) {
        if (!(isText && raw === '')) payload[key] = raw;
        else if (shape.empty === 'null') payload[key] = null;
      } else if (!knownColumns) {
        errors.push(...unknownColumns(shape, [key]));
      }
      continue;
    }
    if (raw === undefined || (isText && raw === '')) {
      if (shape.empty === 'null') {
        if (f.spec.required) errors.push({ field: key, value: raw, message: `${key} is required and cannot be cleared` });
        else payload[key] = null;
      }
      continue;
    }
    if (raw === null) {
      if (f.spec.required) errors.push({ field: key, value: raw, message: `${key} is required and cannot be null` });
      else payload[key] = null;
      continue;
    }
    if (f.check.accept !== undefined) {
      const v = f.check.accept(raw, isText);
      if (v !== NOT_QUICK) {
        payload[key] = v;
        continue;
      }
    }
    const r = f.check(raw, isText);
    if (r.error !== undefined) errors.push({ field: key, value: raw, message: `${key}: ${r.error}` });
    else payload[key] = r.value;
  }
  if (shape.checkRequired) {
    for (const name of shape.required) {
      if (!(name in payload) && !errors.some((e) => e.field === name)) {
        const label = shape.fields.get(name)!.spec.label;
        errors.push({ field: name, message: `${name} is required${label ? ` (${label})` : ''} but missing or empty` });
      }
    }
  }
  return { payload, errors };
}

/** One line for the report's error column: every problem of the row. */
export function joinErrors(errors: FieldError[]): string {
  return errors.map((e) => e.message).join('; ');
}
