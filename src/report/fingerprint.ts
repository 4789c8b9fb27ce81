/**
 * A row's fingerprint: a 32-bit FNV-1a hash of its input values (each key and the text of its value, in the
 * record's own key order), written in the report's `fingerprint` column as 8 hex digits. `--resume` and
 * `--retry-failed` compare it with the same hash of the row as the input has it now, to tell which earlier row (if
 * any) a row is — by content, not by its number (docs/report.md, "How rows are matched: by content, not by number").
 */
import { cellText } from './csv.js';

const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

function mix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME);
  return h;
}

/** The hash of a record's values (keys without a value are left out, so JSON's absent and undefined agree). */
export function fingerprint(values: Record<string, unknown> | undefined): number {
  let h = OFFSET;
  if (!values) return h >>> 0;
  for (const k in values) {
    const v = values[k];
    if (v === undefined) continue;
    h = mix(Math.imul(h ^ 0x1e, PRIME), k);
    h = mix(Math.imul(h ^ 0x1f, PRIME), cellText(v));
  }
  return h >>> 0;
}

export function fingerprintText(values: Record<string, unknown> | undefined): string {
  return fingerprint(values).toString(16).padStart(8, '0');
}

/** `a1b2c3d4` → its number; undefined for anything else. */
export function parseFingerprint(v: unknown): number | undefined {
  return typeof v === 'string' && /^[0-9a-f]{8}$/.test(v) ? parseInt(v, 16) : undefined;
}
