/**
 * CSV cells as aPaaS field values, chosen by a header hint (`count:bigint`, `due:datetime`): the JSON the records
 * API takes for each field kind. docs/apaas.md ("Values") gives the source of each and says which stay unverified.
 */
import type { TypeHint } from '../../core/types.js';

export const APAAS_HINTS = ['bigint', 'decimal', 'datetime', 'multiselect', 'lookup', 'multilingual'] as const;
export type ApaasHint = (typeof APAAS_HINTS)[number];
const IS_APAAS = new Set<string>(APAAS_HINTS);

export const isApaasHint = (h: TypeHint): h is TypeHint & ApaasHint => IS_APAAS.has(h);

type Converted = { value: unknown; error?: undefined } | { error: string; value?: undefined };

const WHOLE = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const LIST_SEPARATOR = /[,;|]/;
const LANGS = new Set(['zh_CN', 'en_US']);

/** `YYYY-MM-DD[ HH:MM[:SS]]` (local time, or with `Z` / `±HH:MM`) → milliseconds since the epoch. */
export function dateTimeMs(text: string): Converted {
  const m = DATE_TIME.exec(text);
  if (!m) return { error: 'expected a date-time YYYY-MM-DD[ HH:MM[:SS]] (local time; or ending in Z or ±HH:MM)' };
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(utc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return { error: `"${text}" is not a real date-time` };
  }
  const zone = m[7];
  if (zone) {
    const off = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    return { value: utc - off * 60_000 };
  }
  const local = new Date(y, mo - 1, d, h, mi, s);
  if (local.getHours() !== h || local.getMinutes() !== mi) return { error: `"${text}" does not exist in the local time zone (a daylight-saving gap)` };
  return { value: local.getTime() };
}

function multilingual(text: string): Converted {
  if (!text.startsWith('{')) return { value: { zh_CN: text, en_US: text } };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'expected text, or JSON {"zh_CN": "…", "en_US": "…"}' };
  }
  const entries = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v) : [];
  if (entries.length === 0 || !entries.every(([k, x]) => LANGS.has(k) && typeof x === 'string')) {
    return { error: 'expected JSON with zh_CN and/or en_US text, e.g. {"zh_CN": "交换机", "en_US": "Switch"}' };
  }
  return { value: v };
}

function multiselect(text: string): Converted {
  let items: unknown = undefined;
  if (text.startsWith('[')) {
    try {
      items = JSON.parse(text);
    } catch {
      return { error: 'expected option API names separated by , ; or |, or a JSON list of strings' };
    }
  } else items = text.split(LIST_SEPARATOR).map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(items) || !items.every((x) => typeof x === 'string' && x.trim() !== '')) {
    return { error: 'expected option API names separated by , ; or |, or a JSON list of strings' };
  }
  return { value: items };
}

/** One non-empty CSV cell (already trimmed) as the value the records API takes for a field of this kind. */
export function apaasValue(hint: ApaasHint, text: string): Converted {
  switch (hint) {
    case 'bigint':
      return WHOLE.test(text) ? { value: text.replace(/^\+/, '') } : { error: 'expected a whole number (sent as a string, as aPaaS integer fields take it)' };
    case 'decimal':
      return DECIMAL.test(text) ? { value: text.replace(/^\+/, '') } : { error: 'expected a decimal number such as 12.50 (sent as a string)' };
    case 'datetime':
      return /^\d{11,}$/.test(text) ? { value: Number(text) } : dateTimeMs(text);
    case 'multiselect':
      return multiselect(text);
    case 'lookup':
      return /^\d+$/.test(text) ? { value: { _id: text } } : { error: 'expected the _id of the record it points to (digits)' };
    default:
      return multilingual(text);
  }
}

/**
 * apaas-sync's comparison for a hinted field: is the value the row would send (`wanted`, as apaasValue made it) the
 * one the record holds (`current`, as batch_query reads it)? The SDK reads these kinds in the form it writes them
 * (server-sdk-go `examples/application/data/structs.go`), so equal forms are equal; and since a number may come back
 * where text was sent (not verified either way), integers, decimals and date-times are compared as numbers, a
 * lookup by the `_id` it points to, multilingual text by the languages the row gives.
 */
export function sameApaasValue(hint: ApaasHint, wanted: unknown, current: unknown, same: (a: unknown, b: unknown) => boolean): boolean {
  if (wanted === null || wanted === undefined || current === null || current === undefined) return same(wanted, current);
  switch (hint) {
    case 'bigint':
      return wholeText(wanted) !== undefined && wholeText(wanted) === wholeText(current);
    case 'decimal':
    case 'datetime':
      return numberOf(wanted) !== undefined && numberOf(wanted) === numberOf(current);
    case 'lookup':
      return lookupId(wanted) !== undefined && lookupId(wanted) === lookupId(current);
    case 'multilingual': {
      if (typeof wanted !== 'object' || typeof current !== 'object') return same(wanted, current);
      const w = wanted as Record<string, unknown>;
      return Object.keys(w).every((lang) => same(w[lang], (current as Record<string, unknown>)[lang]));
    }
    default:
      return same(wanted, current);
  }
}

/** 16, "16", "+16", "016" → "16"; anything else undefined. */
function wholeText(v: unknown): string | undefined {
  const t = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  return WHOLE.test(t) ? BigInt(t).toString() : undefined;
}

function numberOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** {_id: "1798…"} or the id itself → "1798…". */
function lookupId(v: unknown): string | undefined {
  const id = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)._id : v;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : undefined;
}
