/**
 * CMDB attribute value checks, by bk_property_type, as metadata.Attribute.Validate does them
 * (bk-cmdb src/common/metadata/attribute.go, master 111e7ac: validChar, validLongChar, validUser, validInt,
 * validFloat, validBool, validEnum, validEnumMulti, validEnumQuote, validDate, validTime, validList,
 * validOrganization). The server is strict about JSON types: "5" is not an int, "true" is not a bool, an enum
 * takes an option id. Lengths are UTF-8 bytes (Go's len of a string). Strings arrive here already trimmed
 * (instance_validate.go trims every string before validating and storing it).
 */
import type { Attribute, EnumOption } from './store.js';
import { cmdbMessage, type Lang } from './messages.js';

export interface FieldError { code: number; message: string }

/** util.IsDate: time.Parse(time.DateOnly). */
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** util.IsTime: dateTimePattern or timeWithLocationPattern (src/common/util/struti.go). */
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$|^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** util.IsUser: userPattern (src/common/util/struti.go). */
const USER = /^(\d|[a-zA-Z])([a-zA-Z0-9@.,_-])*$/;
/** common.FieldTypeSingleLenChar / FieldTypeLongLenChar / FieldTypeUserLenChar (src/common/definitions.go). */
const MAX_BYTES = { singlechar: 256, longchar: 2000, objuser: 2000 } as const;

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
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/**
 * Checks one present (non-null) value against its attribute. Returns null when it is acceptable.
 * `instanceExists` answers the enumquote check (instance_validate.go validInstIDs).
 */
export function checkValue(a: Attribute, v: unknown, lang: Lang, instanceExists: (obj: string, id: number) => boolean = () => true): FieldError | null {
  const f = a.bk_property_id;
  const err = (code: number): FieldError => ({ code, message: cmdbMessage(code, lang, f) });
  const ids = () => (a.option as EnumOption[]).map((o) => o.id);
  switch (a.bk_property_type) {
    case 'singlechar':
    case 'longchar': {
      if (typeof v !== 'string') return err(1199007);
      if (Buffer.byteLength(v) > MAX_BYTES[a.bk_property_type]) return err(1199015);
      if (typeof a.option === 'string' && a.option !== '' && v !== '' && !new RegExp(a.option).test(v)) return err(1199016);
      return null;
    }
    case 'objuser': {
      if (typeof v !== 'string') return err(1199007);
      if (Buffer.byteLength(v) > MAX_BYTES.objuser) return err(1199015);
      if (v === '') return null;
      if (!a.ismultiple && v.split(',').length !== 1) return err(1199006);
      return USER.test(v) ? null : err(1199016);
    }
    case 'timezone':
      return typeof v === 'string' && /^[a-zA-Z0-9\-−_/+]+$/.test(v) ? null : err(1199006);
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) return err(1199009);
      const { min, max } = range(a);
      return (min !== undefined && v < min) || (max !== undefined && v > max) ? err(1199006) : null;
    }
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return err(1199011);
      const { min, max } = range(a);
      return (min !== undefined && v < min) || (max !== undefined && v > max) ? err(1199006) : null;
    }
    case 'bool':
      return typeof v === 'boolean' ? null : err(1199025);
    case 'enum':
      return typeof v === 'string' && ids().includes(v) ? null : err(1199006);
    case 'enummulti': {
      if (!Array.isArray(v)) return err(1199006);
      if (!a.ismultiple && v.length > 1) return err(1199092);
      return v.every((x) => typeof x === 'string' && ids().includes(x)) ? null : err(1199006);
    }
    case 'enumquote': {
      if (!Array.isArray(v)) return err(1199006);
      if (!a.ismultiple && v.length > 1) return err(1199092);
      const quoted = a.option as { bk_obj_id: string; bk_inst_id: number }[];
      const objOf = quoted[0]?.bk_obj_id ?? '';
      return v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0 && instanceExists(objOf, x)) ? null : err(1199006);
    }
    case 'list':
      return typeof v === 'string' && (a.option as string[]).includes(v) ? null : err(1199006);
    case 'date':
      return typeof v === 'string' && DATE.test(v) && validDate(v) ? null : err(1199006);
    case 'time':
      return typeof v === 'string' && TIME.test(v) && validDate(v) ? null : err(1199006);
    case 'organization':
      return Array.isArray(v) && v.every((x) => Number.isInteger(x)) ? null : err(1199006);
  }
}

/** Strings are stored trimmed (instance_validate.go validateCreateInstValue / validOneUpdateInstKeyVal). */
export function trimmed(v: unknown): unknown {
  return typeof v === 'string' ? v.trim() : v;
}
