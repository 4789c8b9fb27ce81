/**
 * A tiny validator for the subset of JSON Schema that docs/summary.schema.json uses (no new dependency). An
 * unknown keyword is an error, so the check cannot silently weaken when the schema grows.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type Schema = {
  type?: string | string[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maxItems?: number;
  [k: string]: unknown;
};

const KNOWN = new Set(['$schema', '$id', 'title', 'description', 'type', 'required', 'properties', 'items', 'enum', 'minimum', 'maxItems']);

export const SUMMARY_SCHEMA = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/summary.schema.json'), 'utf8')) as Schema;

function typeOk(v: unknown, t: string): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'null':
      return v === null;
    default:
      return typeof v === t;
  }
}

/** The problems of `v` against `schema`, as "$.path: what" lines; [] when it conforms. */
export function validate(schema: Schema, v: unknown, at = '$'): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) return [`${at}: validator does not know keyword ${k}`];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeOk(v, t))) return [`${at}: expected ${types.join('|')}, got ${JSON.stringify(v)}`];
  }
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(v)) errors.push(`${at}: not one of ${JSON.stringify(schema.enum)}`);
  if (schema.minimum !== undefined && typeof v === 'number' && v < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
  if (Array.isArray(v)) {
    if (schema.maxItems !== undefined && v.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) v.forEach((x, i) => errors.push(...validate(schema.items!, x, `${at}[${i}]`)));
  }
  if (typeOk(v, 'object')) {
    const o = v as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${at}: missing ${k}`);
    for (const [k, sub] of Object.entries(schema.properties ?? {})) if (k in o) errors.push(...validate(sub, o[k], `${at}.${k}`));
  }
  return errors;
}
