/**
 * CMDB attribute value checks, by bk_property_type (api-notes.md §2, "Attribute types").
 * The server is strict about JSON types: "5" is not an int, "true" is not a bool,
 * an enum takes an option id, never its display name.
 */
import type { Attribute, EnumOption } from './store.js';
import { cmdbMessage, type Lang } from './messages.js';

export interface FieldError { code: number; message: string }

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function validDate(s: string): boolean {
  const d = new Date(`${s.slice(0, 10)}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s.slice(0, 10);
}

function range(a: Attribute): { min?: number; max?: number } {
  const o = a.option as { min?: string; max?: string } | null;
  const num = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));
  return { min: num(o?.min), max: num(o?.max) };
}

/** True when the value counts as "no value" for the required check. */
export function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/**
 * Checks one present (non-null) value against its attribute. Returns null when it is acceptable.
 * Codes: 1199009 number expected, 1199025 bool expected, 1199011 any other invalid value.
 */
export function checkValue(a: Attribute, v: unknown, lang: Lang): FieldError | null {
  const f = a.bk_property_id;
  const invalid = (why: string): FieldError => ({ code: 1199011, message: `${cmdbMessage(1199011, lang, f)}: ${why}` });
  const show = (x: unknown) => JSON.stringify(x);
  switch (a.bk_property_type) {
    case 'singlechar':
    case 'longchar': {
      if (typeof v !== 'string') return invalid(`expected a string, got ${show(v)}`);
      const max = a.bk_property_type === 'singlechar' ? 256 : 2000;
      if (v.length > max) return invalid(`longer than ${max} characters`);
      if (typeof a.option === 'string' && a.option !== '' && v !== '' && !new RegExp(a.option).test(v)) {
        return invalid(`does not match ${a.option}`);
      }
      return null;
    }
    case 'objuser':
    case 'timezone':
      return typeof v === 'string' ? null : invalid(`expected a string, got ${show(v)}`);
    case 'int':
    case 'float': {
      const intOnly = a.bk_property_type === 'int';
      if (typeof v !== 'number' || !Number.isFinite(v) || (intOnly && !Number.isInteger(v))) {
        return { code: 1199009, message: cmdbMessage(1199009, lang, f, `expected a JSON ${intOnly ? 'integer' : 'number'}, got ${show(v)}`) };
      }
      const { min, max } = range(a);
      if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
        return invalid(`${v} is outside [${min ?? ''}, ${max ?? ''}]`);
      }
      return null;
    }
    case 'bool':
      return typeof v === 'boolean' ? null : { code: 1199025, message: cmdbMessage(1199025, lang, f) };
    case 'enum': {
      const ids = (a.option as EnumOption[]).map((o) => o.id);
      return typeof v === 'string' && ids.includes(v) ? null : invalid(`${show(v)} is not an option id (${ids.join(', ')})`);
    }
    case 'enummulti': {
      const ids = (a.option as EnumOption[]).map((o) => o.id);
      if (!Array.isArray(v)) return invalid(`expected an array of option ids, got ${show(v)}`);
      const bad = v.find((x) => typeof x !== 'string' || !ids.includes(x));
      return bad === undefined ? null : invalid(`${show(bad)} is not an option id (${ids.join(', ')})`);
    }
    case 'list': {
      const opts = a.option as string[];
      return typeof v === 'string' && opts.includes(v) ? null : invalid(`${show(v)} is not one of ${opts.join(', ')}`);
    }
    case 'date':
      return typeof v === 'string' && DATE.test(v) && validDate(v) ? null : invalid(`expected YYYY-MM-DD, got ${show(v)}`);
    case 'time':
      return typeof v === 'string' && TIME.test(v) && validDate(v) ? null : invalid(`expected "YYYY-MM-DD HH:MM:SS" or RFC 3339, got ${show(v)}`);
    case 'organization':
      return Array.isArray(v) && v.every((x) => Number.isInteger(x)) ? null : invalid(`expected an array of integer ids, got ${show(v)}`);
  }
}
