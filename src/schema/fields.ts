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
 * The rules for the target type of every field live in one place, targetCheck.
 */
import type { TypeHint } from '../core/types.js';

export type FieldType =
  | 'singlechar' | 'longchar' | 'int' | 'float' | 'enum' | 'enummulti' | 'date' | 'time' | 'timezone'
  | 'bool' | 'objuser' | 'organization' | 'list' | 'json' | 'string' | 'id' | 'enumquote';

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
  /** ismultiple of the attribute: false allows one user / option / organization / quoted instance (undefined: no limit). */
  multiple?: boolean;
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
  /**
   * For the text of a CSV cell (not empty): the value to send when the text is already in the form the server
   * takes — nothing to trim, no other spelling to read (`yes`, `华为`, `2024/5/1`), no Excel form to refuse —, else
   * NOT_QUICK. Never an answer the checker would not give for the same text (test/unit/schema-quick.test.ts).
   * The hot path of a CSV dry run: each cell is looked at once, nothing is allocated.
   */
  cell?: (text: string) => unknown;
};

/** What Checker.accept answers when the checker itself must look at the value. */
export const NOT_QUICK: unique symbol = Symbol('not quick');

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on', '是', 't']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off', '否', 'f']);

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/;
/** The two forms CMDB accepts for a time (bk-cmdb src/common/util/struti.go dateTimePattern, timeWithLocationPattern). */
const SERVER_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$|^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** CMDB's user names (struti.go userPattern): what an objuser value must match, commas included. */
const USER_NAMES = /^(\d|[a-zA-Z])([a-zA-Z0-9@.,_-])*$/;
/** CMDB's text limits are bytes of UTF-8 (Go's len; common.FieldTypeSingleLenChar 256, LongLenChar / UserLenChar 2000). */
const MAX_BYTES: Partial<Record<FieldType, number>> = { singlechar: 256, longchar: 2000, objuser: 2000 };
/** CMDB trims these before checking and storing them (instance_validate.go): the tool sends them trimmed. */
const TRIMMED = new Set<FieldType>(['singlechar', 'longchar', 'objuser']);

/** At most `max` UTF-8 bytes, without encoding short strings (3 bytes per UTF-16 unit is the most there can be). */
function withinBytes(v: string, max: number): boolean {
  return v.length * 3 <= max || Buffer.byteLength(v) <= max;
}

const single = (f: FieldSpec) => f.multiple === false;

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
  for (let i = 0; i < 10; i++) {
    const c = v.charCodeAt(i);
    if ((c < 48 || c > 57) && i !== 4 && i !== 7) return false;
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

/** A check of one value: undefined when the server accepts it, else what was expected (the first rule it breaks). */
export type ValueCheck = (v: unknown) => string | undefined;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/** The value is a `T`, and then each rule in order: the message of the first it breaks. */
function rules<T>(is: (v: unknown) => v is T, typeMessage: string, ...more: Array<[(v: T) => boolean, string]>): ValueCheck {
  return (v) => {
    if (!is(v)) return typeMessage;
    for (const [ok, message] of more) if (!ok(v)) return message;
    return undefined;
  };
}

/** A list (else `message`) of at most one item when the field takes one value, every item passing `item`. */
function listOf(f: FieldSpec, item: (v: unknown) => boolean, message: string, itemMessage: string, one: string): ValueCheck {
  return rules(Array.isArray, message, [(l) => !single(f) || l.length <= 1, one], [(l) => l.every(item), itemMessage]);
}

const positiveId = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * The check of the JSON value the server accepts for a field, the rules in one place (plain code: a schema library
 * cost a sixth of a small run's start-up; test/unit/schema-quick.test.ts holds these rules to the zod schemas
 * they were written as).
 */
export function targetCheck(f: FieldSpec): ValueCheck {
  const range: Array<[(v: number) => boolean, string]> = [
    [(v) => f.min === undefined || v >= f.min, `expected at least ${f.min}`],
    [(v) => f.max === undefined || v <= f.max, `expected at most ${f.max}`],
  ];
  switch (f.type) {
    case 'int':
      return rules(isNumber, 'expected a whole number', [Number.isSafeInteger, 'expected a whole number'], ...range);
    case 'id':
      return rules(isNumber, 'expected a whole number', [Number.isSafeInteger, 'expected a whole number'], [(v) => v > 0, 'expected a positive id'], ...range);
    case 'float':
      return rules(isNumber, 'expected a number', ...range);
    case 'bool':
      return rules((v): v is boolean => typeof v === 'boolean', 'expected true or false');
    case 'enum': {
      const ids = (f.options ?? []).map((o) => o.id);
      return rules(isString, 'expected one of ' + ids.join(', '), [(v) => ids.includes(v), `expected one of ${ids.join(', ')}`]);
    }
    case 'enummulti': {
      const ids = (f.options ?? []).map((o) => o.id);
      const item = (v: unknown) => isString(v) && ids.includes(v);
      return listOf(f, item, 'expected a list of option ids', `expected items from ${ids.join(', ')}`, 'expected one option: the field takes a single value (ismultiple is false)');
    }
    case 'enumquote':
      return listOf(f, positiveId, 'expected a list of instance ids', 'expected a list of instance ids', 'expected one instance id: the field takes a single value (ismultiple is false)');
    case 'organization':
      return listOf(f, positiveId, 'expected a list of organization ids', 'expected a list of organization ids', 'expected one organization id: the field takes a single value (ismultiple is false)');
    case 'list': {
      const opts = f.listOptions ?? [];
      return rules(isString, 'expected text', [(v) => opts.length === 0 || opts.includes(v), `expected one of ${opts.join(', ')}`]);
    }
    case 'date':
      return rules(isString, 'expected a date YYYY-MM-DD', [(v) => /^\d{4}-\d{2}-\d{2}$/.test(v), 'expected a date YYYY-MM-DD']);
    case 'time':
      return rules(isString, 'expected a time YYYY-MM-DD HH:MM:SS', [(v) => SERVER_TIME.test(v), 'expected a time "YYYY-MM-DD HH:MM:SS" or RFC 3339 with a zone ("2024-05-01T08:00:00+08:00")']);
    case 'timezone':
      return rules(isString, 'expected a time zone like Asia/Shanghai', [validTimezone, 'expected a time zone like Asia/Shanghai']);
    case 'json':
      return f.jsonArray ? rules(Array.isArray, 'expected a JSON array') : () => undefined;
    case 'objuser':
    case 'singlechar':
    case 'longchar':
    case 'string': {
      const max = f.maxLength ?? MAX_BYTES[f.type];
      const text: Array<[(v: string) => boolean, string]> = [];
      if (max !== undefined) text.push([(v) => withinBytes(v, max), `expected at most ${max} bytes of UTF-8 (a Chinese character is 3)`]);
      if (f.pattern) text.push([(v) => f.pattern!.test(v), `does not match the model's pattern ${f.pattern.source}`]);
      if (f.type === 'objuser') {
        text.push([(v) => v === '' || USER_NAMES.test(v), 'expected user names of letters, digits and @ . _ - separated by commas']);
        if (single(f)) text.push([(v) => !v.includes(','), 'expected one user: the field takes a single value (ismultiple is false)']);
      }
      return rules(isString, 'expected text', ...text);
    }
  }
}

/** Turns cell text into the JSON type of the field; returns undefined when the text cannot be read that way. */
function fromText(f: FieldSpec, text: string): unknown {
  const t = text.trim();
  switch (f.type) {
    case 'int':
    case 'id':
      return INT_TEXT.test(t) || WHOLE_DECIMAL_TEXT.test(t) ? Number(t) : excelScientific(t, AS_NUMBER) ?? text;
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
    case 'enumquote':
      return splitList(t).map((v) => (typeof v === 'string' && INT_TEXT.test(v) ? Number(v) : v));
    case 'time':
      // A zone-less ISO time is the server's space form with a T: send it in the form the server takes.
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(t) ? t.replace('T', ' ') : t;
    case 'date': {
      if (isIsoDate(t)) return t;
      const m = DATE_TEXT.exec(t);
      return m ? `${m[1]}-${pad2(m[2]!)}-${pad2(m[3]!)}` : excelSerialDate(t) ?? text;
    }
    case 'objuser':
      // One user name (the common case) is already what the server takes.
      return t.startsWith('[') || LIST_SEPARATOR.test(t) ? splitList(t).join(',') : t;
    case 'json':
      try {
        return JSON.parse(t);
      } catch (e) {
        return new Refused(`expected JSON: ${(e as Error).message}`);
      }
    case 'singlechar':
    case 'longchar':
    case 'string':
      return excelScientific(t, AS_TEXT) ?? (TRIMMED.has(f.type) ? t : text);
    default:
      return TRIMMED.has(f.type) ? t : text;
  }
}

/** Cell text that cannot be what the user meant, and why (the message is the row's error as it is). */
class Refused {
  constructor(readonly message: string) {}
}

/**
 * JSON values keep their types, except an enum option's: named by its display name as in a CSV cell, or by a number
 * that is its id's digits (1 for the option "1", as other tools export host bk_os_type).
 */
function fromJson(f: FieldSpec, v: unknown): unknown {
  if (f.type === 'enum') return jsonOption(f, v);
  if (f.type === 'enummulti' && Array.isArray(v)) return v.map((x) => jsonOption(f, x));
  return v;
}

function jsonOption(f: FieldSpec, v: unknown): unknown {
  if (typeof v === 'string') return enumId(f, v.trim());
  if (typeof v === 'number' && (f.options ?? []).some((o) => o.id === String(v))) return String(v);
  return v;
}

// ---- What Excel does to numbers and dates in a CSV it saves

/** "48.0", "24.00": Excel's number format with decimals; a whole number all the same. */
const WHOLE_DECIMAL_TEXT = /^[+-]?\d+\.0+$/;
/** Excel's General format for a number of 12 digits or more: "1.79868E+15", the digits after the 6th gone. */
const EXCEL_SCIENTIFIC = /^[+-]?(\d)(?:\.(\d+))?E\+(\d+)$/;
const EXCEL_SERIAL_TEXT = /^\d{5}(\.\d+)?$/;

const AS_TEXT = 'format the column as Text in Excel (ids of more than 15 digits before they are pasted in) and save the file again';
const AS_NUMBER = 'format the column as Number with 0 decimal places in Excel and save the file again';

/** A number Excel showed in scientific notation (refused: the digits are lost, `fix` says what to do), or undefined. */
function excelScientific(t: string, fix: string): Refused | undefined {
  if (t.length > 24 || t.indexOf('E+') === -1) return undefined; // the common case: one native search
  const m = EXCEL_SCIENTIFIC.exec(t);
  if (!m || Number(m[3]) < 11) return undefined;
  const kept = 1 + (m[2]?.length ?? 0);
  return new Refused(`"${t}" is a number Excel rounded to scientific notation (the digits after the ${ordinal(kept)} are lost): ${fix}`);
}

/**
 * A date cell holding an Excel date serial number (days since 1899-12-30: 45123 is 2023-07-16), refused naming
 * the date; or undefined. Five digits only (1927 to 2173): "2023" is a year, "20230716" a date without dashes.
 */
function excelSerialDate(t: string): Refused | undefined {
  if (!EXCEL_SERIAL_TEXT.test(t)) return undefined;
  const day = new Date(Date.UTC(1899, 11, 30) + Math.floor(Number(t)) * 86_400_000).toISOString().slice(0, 10);
  return new Refused(
    `"${t}" is an Excel date serial number (it would be ${day}): format the column as a date (YYYY-MM-DD) or as Text in Excel and save the file again`,
  );
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

function enumId(f: FieldSpec, v: string): string {
  const opts = f.options ?? [];
  if (opts.some((o) => o.id === v)) return v;
  const lower = v.toLowerCase();
  const byName = opts.find((o) => o.name.toLowerCase() === lower) ?? opts.find((o) => o.id.toLowerCase() === lower);
  return byName ? byName.id : v;
}

/** Extra checks on the value alone, after targetCheck (the calendar). */
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
    case 'enumquote': return 'a list of instance ids';
    case 'json': return f.jsonArray ? 'a JSON array' : 'JSON';
    case 'organization': return 'a list of organization ids';
    case 'list': return `one of ${(f.listOptions ?? []).join(', ')}`;
    default: return 'text';
  }
}

/**
 * A quick yes for the common values of the simple types, never broader than targetCheck + extraCheck (a value
 * it does not accept goes through them, which accept it or say why). It only says yes to primitives. Running the
 * whole check (then a zod schema) for every cell of a million rows cost more than reading the file.
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
    case 'objuser': {
      if (f.pattern) return undefined;
      const limit = f.maxLength ?? MAX_BYTES.objuser!;
      // One user name: no list to split, nothing to trim (the checker's long way does both).
      return (v) => typeof v === 'string' && v.length * 3 <= limit && oneUserName(v);
    }
    case 'singlechar':
    case 'longchar':
    case 'string': {
      if (f.pattern) return undefined;
      const limit = f.maxLength ?? MAX_BYTES[f.type] ?? Infinity;
      // Untrimmed text goes the long way (the checker trims it).
      const trims = TRIMMED.has(f.type);
      return (v) => typeof v === 'string' && v.length * 3 <= limit && !(trims && v !== v.trim());
    }
    default:
      return undefined;
  }
}

/** Text with nothing for trim() to take off either end (printable ASCII at both ends is the common, cheap case). */
function trimmed(t: string): boolean {
  const a = t.charCodeAt(0);
  const z = t.charCodeAt(t.length - 1);
  return (a > 32 && a < 127 && z > 32 && z < 127) || t === t.trim();
}

/** The value of 1 to 15 ASCII digits (what Number() reads from them), else -1. */
function digitsValue(t: string): number {
  if (t.length === 0 || t.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** CMDB's user name (USER_NAMES) without a comma: one user, by character codes. */
function oneUserName(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && (i === 0 || (c !== 64 && c !== 46 && c !== 95 && c !== 45))) return false; // @ . _ -
  }
  return t.length > 0;
}

/**
 * The CSV cell fast path of a field (Checker.cell): for each type, the text the server takes as it is, answered
 * by character codes; anything else is NOT_QUICK and goes through fromText and the checks. Undefined for the types
 * whose cells always need the long way (lists, JSON, times, time zones).
 */
function quickCell(f: FieldSpec): ((t: string) => unknown) | undefined {
  const { min, max } = f;
  const inRange = (n: number) => (min === undefined || n >= min) && (max === undefined || n <= max);
  const bytes = f.maxLength ?? MAX_BYTES[f.type];
  const fits = (t: string) => bytes === undefined || withinBytes(t, bytes);
  const pattern = f.pattern;
  switch (f.type) {
    case 'int':
    case 'float':
      return (t) => {
        const n = digitsValue(t);
        return n >= 0 && inRange(n) ? n : NOT_QUICK;
      };
    case 'id':
      return (t) => {
        const n = digitsValue(t);
        return n > 0 && inRange(n) ? n : NOT_QUICK;
      };
    case 'bool':
      return (t) => (t === 'true' ? true : t === 'false' ? false : NOT_QUICK);
    case 'date':
      return (t) => (isIsoDate(t) && realIsoDate(t) ? t : NOT_QUICK);
    case 'enum': {
      const ids = new Set((f.options ?? []).map((o) => o.id).filter((id) => id !== '' && id === id.trim()));
      return (t) => (ids.has(t) ? t : NOT_QUICK);
    }
    case 'singlechar':
    case 'longchar':
    case 'string':
      // Excel's scientific form ("1.79868E+15") is refused by fromText: its cells take the long way.
      return (t) => (trimmed(t) && fits(t) && (t.length > 24 || t.indexOf('E+') === -1) && (!pattern || pattern.test(t)) ? t : NOT_QUICK);
    case 'objuser':
      return (t) => (oneUserName(t) && fits(t) && (!pattern || pattern.test(t)) ? t : NOT_QUICK);
    default:
      return undefined;
  }
}

/** Compiles a field spec into its checker. */
export function compileField(f: FieldSpec): Checker {
  const target = targetCheck(f);
  const quick = quickAccept(f);
  const check: Checker = (input, isText) => {
    let v = isText && typeof input === 'string' ? fromText(f, input) : isText ? input : fromJson(f, input);
    if (!isText && typeof v === 'string' && TRIMMED.has(f.type)) v = v.trim();
    if (quick?.(v)) return { value: v };
    if (v instanceof Refused) return { error: v.message };
    // JSON input: ids and ints may arrive as whole-number strings from other tools; keep them strict except ids.
    if (!isText && f.type === 'id' && typeof v === 'string' && INT_TEXT.test(v.trim())) v = Number(v);
    const msg = target(v);
    if (msg !== undefined) return { error: `${msg.startsWith('expected') ? msg : msg + `; expected ${expectedText(f)}`}, got ${describe(input)}` };
    const extra = extraCheck(f, v);
    if (extra) return { error: `${extra}, got ${describe(input)}` };
    return { value: v };
  };
  if (quick) {
    check.accept = (input, isText) => {
      const v = isText && typeof input === 'string' ? fromText(f, input) : input;
      return quick(v) ? v : NOT_QUICK;
    };
  }
  check.cell = quickCell(f);
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
