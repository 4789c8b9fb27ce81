/**
 * Row shapes: the set of fields an operation accepts, compiled once per run, and the one function that turns a
 * record's values into the payload to send plus every problem found (all of them, not just the first).
 */
import type { TypeHint } from '../core/types.js';
import { displayIndex, matchDisplayName, suggestField, type DisplayIndex } from './display-names.js';
import { compileField, hintField, NOT_QUICK, type Checker, type FieldSpec } from './fields.js';

export interface FieldError {
  field?: string;
  value?: unknown;
  message: string;
}

/** A field of a shape: its spec and its checks, compiled once per run. */
export class Field {
  readonly name: string;
  readonly required: boolean;
  /** CSV cell text (not empty) → the value to send, or NOT_QUICK: Checker.cell, or always NOT_QUICK. */
  readonly cell: (text: string) => unknown;
  /** An input value → the value to send, or NOT_QUICK: Checker.accept, or always NOT_QUICK. */
  readonly accept: (input: unknown, isText: boolean) => unknown;

  constructor(readonly spec: FieldSpec, readonly check: Checker = compileField(spec)) {
    this.name = spec.name;
    this.required = !!spec.required;
    this.cell = check.cell ?? notQuick;
    this.accept = check.accept ?? notQuick;
  }
}

const notQuick = (): unknown => NOT_QUICK;

export interface RowShape {
  readonly fields: ReadonlyMap<string, Field>;
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
  /**
   * Every known name → CONTROL or its field: one look-up per cell in shapeRow (it runs for every cell twice).
   * A header that is a field's display name is added the first time it is seen (see entryOf).
   */
  readonly index: Map<string, IndexEntry>;
  /** The fields' display names (bk_property_name), for headers such as `固资编号`. */
  readonly labels: DisplayIndex;
  /** Names of the required fields. */
  readonly required: readonly string[];
  /**
   * The keys of the last row shaped and what `index` said for each: rows of one file mostly have the same keys
   * in the same order (always, for CSV), so a key is usually found by one identity comparison, not a hash look-up.
   */
  readonly memo: { keys: string[]; entries: Array<IndexEntry | undefined> };
  /** An empty payload (see payloadMaker). */
  readonly newPayload: () => Record<string, unknown>;
}

type IndexEntry = typeof CONTROL | Field;

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

/**
 * Empty payloads for one shape: null-prototype objects (a field named `__proto__` is a plain key) that V8 makes with
 * room for up to 10 fields inside the object. An object literal has room for 4, and the fifth and later fields went
 * to a separate array, grown as they were added: a third of shapeRow's time for an 8-column row. V8 sizes the room by
 * the first payloads a class makes, so each shape gets its own class (the rows of one file are alike).
 */
function payloadMaker(): () => Record<string, unknown> {
  class Payload {}
  return () => Object.setPrototypeOf(new Payload(), null) as Record<string, unknown>;
}

export function buildShape(specs: FieldSpec[], o: ShapeOptions): RowShape {
  const fields = new Map<string, Field>();
  for (const s of specs) fields.set(s.name, new Field(s));
  const labels = displayIndex(specs);
  // A header type hint wins over nothing but never over the model: the model is the truth when we have it.
  for (const [name, hint] of Object.entries(o.hints ?? {})) {
    if (!fields.has(name) && !(o.control ?? []).includes(name) && !matchDisplayName(labels, name)) {
      fields.set(name, new Field(hintField(name, hint)));
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
    labels,
    required: [...fields.values()].filter((f) => f.spec.required).map((f) => f.spec.name),
    memo: { keys: [], entries: [] },
    newPayload: payloadMaker(),
  };
}

/**
 * The field (or CONTROL) a column name stands for: its id, else its display name when that names exactly one
 * field (remembered in the index, so the next row finds it at once).
 */
function entryOf(shape: RowShape, name: string): IndexEntry | undefined {
  const known = shape.index.get(name);
  if (known !== undefined) return known;
  const m = matchDisplayName(shape.labels, name);
  if (!m || !('field' in m)) return undefined;
  const f = shape.fields.get(m.field);
  if (f) shape.index.set(name, f);
  return f;
}

/** The field id a column names (its id or its display name), if it names one. */
export function fieldOf(shape: RowShape, column: string): string | undefined {
  const f = entryOf(shape, column);
  return f ? f.spec.name : undefined; // CONTROL is 0: not a field
}

/**
 * Problems of the column names: unknown ones (each with the field it most likely meant), display names that
 * several fields share, and two columns that name the same field.
 */
export function unknownColumns(shape: RowShape, columns: Iterable<string>): FieldError[] {
  if (shape.allowUnknown) return [];
  const out: FieldError[] = [];
  const named = new Map<string, string>(); // field → the column that names it
  for (const c of columns) {
    const f = entryOf(shape, c);
    if (f === CONTROL) continue;
    if (f) {
      const other = named.get(f.spec.name);
      if (other !== undefined) out.push({ field: c, message: `columns "${other}" and "${c}" both name field ${f.spec.name} of ${shape.what}: keep one of them` });
      else named.set(f.spec.name, c);
      continue;
    }
    const m = matchDisplayName(shape.labels, c);
    if (m && 'ambiguous' in m) {
      out.push({ field: c, message: `"${c}" is the display name of ${m.ambiguous.length} fields of ${shape.what} (${m.ambiguous.join(', ')}): use the field id as the header` });
      continue;
    }
    const near = suggestField(c, shape.fields, shape.control);
    out.push({
      field: c,
      message: `unknown field "${c}" for ${shape.what}${near ? ` (did you mean ${near}?)` : ''}; the server would silently drop it`,
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
  const payload = shape.newPayload();
  const errors: FieldError[] = [];
  const { index, memo } = shape;
  let k = 0;
  for (const key in values) {
    let f: IndexEntry | undefined;
    if (memo.keys[k] === key) f = memo.entries[k];
    else {
      f = index.get(key) ?? entryOf(shape, key);
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
    // The payload is keyed by field id; messages name the column as the user wrote it (an id or a display name).
    const name = f.name;
    // CSV text in the form the server takes: the common case, answered without allocating.
    if (isText && typeof raw === 'string' && raw !== '') {
      const v = f.cell(raw);
      if (v !== NOT_QUICK) {
        payload[name] = v;
        continue;
      }
    }
    if (raw === undefined || (isText && raw === '')) {
      if (shape.empty === 'null') {
        if (f.required) errors.push({ field: name, value: raw, message: `${key} is required and cannot be cleared` });
        else payload[name] = null;
      }
      continue;
    }
    if (raw === null) {
      if (f.required) errors.push({ field: name, value: raw, message: `${key} is required and cannot be null` });
      else payload[name] = null;
      continue;
    }
    const v = f.accept(raw, isText);
    if (v !== NOT_QUICK) {
      payload[name] = v;
      continue;
    }
    const r = f.check(raw, isText);
    if (r.error !== undefined) errors.push({ field: name, value: raw, message: `${key}: ${r.error}` });
    else payload[name] = r.value;
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
