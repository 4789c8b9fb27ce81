/**
 * Field specs and their value checkers.
 *
 * A field spec says what JSON value the server accepts for one column (api-notes.md §2, "Attribute types").
 * It is built from a CMDB model attribute (search_object_attribute), from a CSV header type hint
 * (`port_count:int`), or written by hand for the fixed-shape operations (processes, associations).
 *
 * Each spec compiles to one function that takes the input value — cell text from CSV, or a value that JSON
 * input already typed — and returns the value to send or a message for the user. CSV text is coerced
 * (`"48"` → 48, `"yes"` → true, `"华为"` → `"huawei"`); JSON values keep their types and are only checked.
 * The target type of every field is a zod schema, so the rules live in one declarative place.
 */
import { z } from 'zod';
import type { TypeHint } from '../core/types.js';

export type FieldType =
  | 'singlechar' | 'longchar' | 'int' | 'float' | 'enum' | 'enummulti' | 'date' | 'time' | 'timezone'
  | 'bool' | 'objuser' | 'organization' | 'list' | 'json' | 'string' | 'id';

export interface EnumOption { id: string; name: string }

export interface FieldSpec {
  name: string;
  type: FieldType;
  label?: string;
  required?: boolean;
  editable?: boolean;
  unique?: boolean;
  min?: number;
  max?: number;
  maxLength?: number;
  options?: EnumOption[];      // enum / enummulti
  listOptions?: string[];      // list
  pattern?: RegExp;            // singlechar regex option
  /** json fields: the JSON value must be an array (bind_info) */
  jsonArray?: boolean;
}

/** A checker: given an input value, either `{ value }` to send or `{ error }` for the user. */
export type Checker = ((input: unknown, fromText: boolean) => { value: unknown; error?: undefined } | { error: string; value?: undefined }) & {
  /**
   * The value to send when the input passes the quick check, else NOT_QUICK (then call the checker itself).
   * Saves a result object per cell on the hot path (shapeRow); absent for types without a quick check.
   */
  accept?: (input: unknown, fromText: boolean) => unknown;
};

/** What Checker.accept answers when the checker itself must look at the value. */
export const NOT_QUICK: unique symbol = Symbol('not quick');

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on', '是', 't']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off', '否', 'f']);

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/;
const TIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31);
}

/** "YYYY-MM-DD" with digits only, by character codes (no regex, no allocation). */
function isIsoDate(v: string): boolean {
  if (v.length !== 10 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return false;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A real calendar date, for a string already known to be YYYY-MM-DD. */
function realIsoDate(v: string): boolean {
  const digit = (i: number) => v.charCodeAt(i) - 48;
  return validDate(digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3), digit(5) * 10 + digit(6), digit(8) * 10 + digit(9));
}

const pad2 = (n: number | string) => String(n).padStart(2, '0');

const tzCache = new Map<string, boolean>();
function validTimezone(tz: string): boolean {
  let ok = tzCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    tzCache.set(tz, ok);
  }
  return ok;
}

/** Splits a list cell: a JSON array text, or comma / semicolon / 、 separated items. */
function splitList(text: string): unknown[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t);
      if (Array.isArray(v)) return v;
    } catch {
      /* fall through to plain splitting */
    }
  }
  return t.split(LIST_SEPARATOR).map((s) => s.trim()).filter((s) => s !== '');
}

/** What separates the items of a list cell (enummulti, organization, objuser): also what export must avoid. */
export const LIST_SEPARATOR = /[,;，；、|]/;

/** The zod schema of the JSON value the server accepts for a field. */
export function targetSchema(f: FieldSpec): z.ZodType {
  switch (f.type) {
    case 'int':
    case 'id': {
      let s = z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' });
      if (f.type === 'id') s = s.positive({ error: 'expected a positive id' });
      if (f.min !== undefined) s = s.min(f.min, { error: `expected at least ${f.min}` });
      if (f.max !== undefined) s = s.max(f.max, { error: `expected at most ${f.max}` });
      return s;
    }
    case 'float': {
      let s = z.number({ error: 'expected a number' });
      if (f.min !== undefined) s = s.min(f.min, { error: `expected at least ${f.min}` });
      if (f.max !== undefined) s = s.max(f.max, { error: `expected at most ${f.max}` });
      return s;
    }
    case 'bool':
      return z.boolean({ error: 'expected true or false' });
    case 'enum': {
      const ids = (f.options ?? []).map((o) => o.id);
      return z.string({ error: 'expected one of ' + ids.join(', ') }).refine((v) => ids.includes(v), {
        error: `expected one of ${ids.join(', ')}`,
      });
    }
    case 'enummulti': {
      const ids = (f.options ?? []).map((o) => o.id);
      return z.array(z.string().refine((v) => ids.includes(v), { error: `expected items from ${ids.join(', ')}` }), {
        error: 'expected a list of option ids',
      });
    }
    case 'list': {
      const opts = f.listOptions ?? [];
      return z.string({ error: 'expected text' }).refine((v) => opts.length === 0 || opts.includes(v), {
        error: `expected one of ${opts.join(', ')}`,
      });
    }
    case 'organization':
      return z.array(z.number().int().positive(), { error: 'expected a list of organization ids' });
    case 'date':
      return z.string({ error: 'expected a date YYYY-MM-DD' }).regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date YYYY-MM-DD' });
    case 'time':
      return z.string({ error: 'expected a time YYYY-MM-DD HH:MM:SS' }).regex(TIME_TEXT, { error: 'expected a time YYYY-MM-DD HH:MM:SS or RFC 3339' });
    case 'timezone':
      return z.string({ error: 'expected a time zone like Asia/Shanghai' }).refine(validTimezone, { error: 'expected a time zone like Asia/Shanghai' });
    case 'json':
      return f.jsonArray ? z.array(z.unknown(), { error: 'expected a JSON array' }) : z.unknown();
    case 'objuser':
    case 'singlechar':
    case 'longchar':
    case 'string': {
      const max = f.maxLength ?? (f.type === 'singlechar' || f.type === 'objuser' ? 256 : f.type === 'longchar' ? 2000 : undefined);
      let s = z.string({ error: 'expected text' });
      if (max !== undefined) s = s.max(max, { error: `expected at most ${max} characters` });
      if (f.pattern) s = s.regex(f.pattern, { error: `does not match the model's pattern ${f.pattern.source}` });
      return s;
    }
  }
}

/** Turns cell text into the JSON type of the field; returns undefined when the text cannot be read that way. */
function fromText(f: FieldSpec, text: string): unknown {
  const t = text.trim();
  switch (f.type) {
    case 'int':
    case 'id':
      return INT_TEXT.test(t) ? Number(t) : text;
    case 'float':
      return FLOAT_TEXT.test(t) ? Number(t) : text;
    case 'bool': {
      if (t === 'true') return true;
      if (t === 'false') return false;
      const l = t.toLowerCase();
      return TRUE_WORDS.has(l) ? true : FALSE_WORDS.has(l) ? false : text;
    }
    case 'enum':
      return enumId(f, t);
    case 'enummulti':
      return splitList(t).map((v) => (typeof v === 'string' ? enumId(f, v) : v));
    case 'organization':
      return splitList(t).map((v) => (typeof v === 'string' && INT_TEXT.test(v) ? Number(v) : v));
    case 'date': {
      if (isIsoDate(t)) return t;
      const m = DATE_TEXT.exec(t);
      return m ? `${m[1]}-${pad2(m[2]!)}-${pad2(m[3]!)}` : text;
    }
    case 'objuser':
      // One user name (the common case) is already what the server takes.
      return t.startsWith('[') || LIST_SEPARATOR.test(t) ? splitList(t).join(',') : t;
    case 'json':
      try {
        return JSON.parse(t);
      } catch (e) {
        return new JsonTextError((e as Error).message);
      }
    default:
      return text;
  }
}

class JsonTextError {
  constructor(readonly message: string) {}
}

function enumId(f: FieldSpec, v: string): string {
  const opts = f.options ?? [];
  if (opts.some((o) => o.id === v)) return v;
  const lower = v.toLowerCase();
  const byName = opts.find((o) => o.name.toLowerCase() === lower) ?? opts.find((o) => o.id.toLowerCase() === lower);
  return byName ? byName.id : v;
}

/** Extra checks zod cannot express on the value alone. */
function extraCheck(f: FieldSpec, v: unknown): string | undefined {
  if (f.type === 'date' && typeof v === 'string' && !realIsoDate(v)) return 'expected a real calendar date YYYY-MM-DD';
  return undefined;
}

function expectedText(f: FieldSpec): string {
  switch (f.type) {
    case 'int': return f.min !== undefined || f.max !== undefined ? `a whole number ${f.min ?? '…'}–${f.max ?? '…'}` : 'a whole number';
    case 'id': return 'a positive whole number';
    case 'float': return 'a number';
    case 'bool': return 'true or false (also yes/no, 1/0)';
    case 'enum': return `one of ${(f.options ?? []).map((o) => (o.name && o.name !== o.id ? `${o.id} (${o.name})` : o.id)).join(', ')}`;
    case 'enummulti': return `a list of ${(f.options ?? []).map((o) => o.id).join(', ')}`;
    case 'date': return 'a date YYYY-MM-DD';
    case 'time': return 'a time YYYY-MM-DD HH:MM:SS';
    case 'json': return f.jsonArray ? 'a JSON array' : 'JSON';
    case 'organization': return 'a list of organization ids';
    case 'list': return `one of ${(f.listOptions ?? []).join(', ')}`;
    default: return 'text';
  }
}

/**
 * A quick yes for the common values of the simple types, never broader than targetSchema + extraCheck (a value
 * it does not accept goes through zod, which accepts it or says why). It only says yes to primitives, which zod
 * returns as they are. Running zod for every cell of a million rows cost more than reading the file.
 */
function quickAccept(f: FieldSpec): ((v: unknown) => boolean) | undefined {
  const { min, max } = f;
  const inRange = (n: number) => (min === undefined || n >= min) && (max === undefined || n <= max);
  switch (f.type) {
    case 'int':
      return (v) => typeof v === 'number' && Number.isSafeInteger(v) && inRange(v);
    case 'id':
      return (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && inRange(v);
    case 'float':
      return (v) => typeof v === 'number' && Number.isFinite(v) && inRange(v);
    case 'bool':
      return (v) => typeof v === 'boolean';
    case 'date':
      return (v) => typeof v === 'string' && isIsoDate(v) && realIsoDate(v);
    case 'enum': {
      const ids = new Set((f.options ?? []).map((o) => o.id));
      return (v) => typeof v === 'string' && ids.has(v);
    }
    case 'objuser':
    case 'singlechar':
    case 'longchar':
    case 'string': {
      if (f.pattern) return undefined;
      const limit = f.maxLength ?? (f.type === 'singlechar' || f.type === 'objuser' ? 256 : f.type === 'longchar' ? 2000 : Infinity);
      return (v) => typeof v === 'string' && v.length <= limit;
    }
    default:
      return undefined;
  }
}

/** Compiles a field spec into its checker. */
export function compileField(f: FieldSpec): Checker {
  const schema = targetSchema(f);
  const quick = quickAccept(f);
  const check: Checker = (input, isText) => {
    let v = isText && typeof input === 'string' ? fromText(f, input) : input;
    if (quick?.(v)) return { value: v };
    if (v instanceof JsonTextError) return { error: `expected JSON: ${v.message}` };
    // JSON input: ids and ints may arrive as whole-number strings from other tools; keep them strict except ids.
    if (!isText && f.type === 'id' && typeof v === 'string' && INT_TEXT.test(v.trim())) v = Number(v);
    const r = schema.safeParse(v);
    if (!r.success) {
      const msg = r.error.issues[0]?.message ?? 'invalid value';
      const exp = expectedText(f);
      return { error: `${msg.startsWith('expected') ? msg : msg + `; expected ${exp}`}, got ${describe(input)}` };
    }
    const extra = extraCheck(f, r.data);
    if (extra) return { error: `${extra}, got ${describe(input)}` };
    return { value: r.data };
  };
  if (quick) {
    check.accept = (input, isText) => {
      const v = isText && typeof input === 'string' ? fromText(f, input) : input;
      return quick(v) ? v : NOT_QUICK;
    };
  }
  return check;
}

/** The field spec a CSV header type hint stands for. */
export function hintField(name: string, hint: TypeHint): FieldSpec {
  const type: FieldType = hint === 'int' ? 'int' : hint === 'number' || hint === 'float' ? 'float' : hint === 'bool' ? 'bool' : hint === 'json' ? 'json' : hint === 'date' ? 'date' : 'string';
  return { name, type };
}

/** Levenshtein distance, small and early-exiting: for "did you mean". */
export function editDistance(a: string, b: string, limit = 3): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const c = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(c);
      if (c < best) best = c;
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest known name to an unknown one, if it is close enough to be a typo. */
export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const k of known) {
    const kl = k.toLowerCase();
    if (kl === lower) return k;
    // A name cut short or run on ("bk_asset" for "bk_asset_id") is a typo too.
    const d = kl.startsWith(lower) || lower.startsWith(kl) ? Math.min(2, Math.abs(kl.length - lower.length)) : editDistance(lower, kl, 3);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const allowed = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  return bestD <= allowed ? best : undefined;
}
