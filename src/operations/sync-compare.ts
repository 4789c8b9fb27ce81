/**
 * sync's one question about a row: which of its fields differ from what the server holds? Values are compared
 * after the coercion the server applies (the row's values are already coerced by the model's attributes): text
 * trimmed, an enum by its option id, numbers and booleans as JSON values, a list as the set of its items, an
 * empty value ('' / null / absent) as "no value".
 */

/** How a field's two values are compared: sameValue, unless the field's kind says otherwise (apaas-sync's hints). */
export type SameField = (field: string, wanted: unknown, current: unknown) => boolean;

/** The fields of `wanted` whose value differs from `current`'s: field → [before, after]. */
export function changedFields(wanted: Record<string, unknown>, current: Record<string, unknown>, skip: ReadonlySet<string>, same: SameField = (_, a, b) => sameValue(a, b)): Map<string, [unknown, unknown]> {
  const out = new Map<string, [unknown, unknown]>();
  for (const f of Object.keys(wanted)) {
    if (skip.has(f)) continue;
    if (!same(f, wanted[f], current[f])) out.set(f, [current[f] ?? null, wanted[f]]);
  }
  return out;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(normal(v));
}

function normal(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (Array.isArray(v)) {
    const items = v.map(normal);
    return items.length === 0 ? null : items.map((x) => JSON.stringify(x)).sort();
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, normal(o[k])]));
  }
  return v;
}

/** "port_count: 24 → 48; vendor: cisco → h3c" for the report's detail column and the plan. */
export function describeChanges(changes: Map<string, [unknown, unknown]>): string {
  const shown = [...changes].slice(0, 10).map(([f, [b, a]]) => `${f}: ${brief(b)} → ${brief(a)}`);
  if (changes.size > 10) shown.push(`… ${changes.size - 10} more`);
  return shown.join('; ');
}

function brief(v: unknown): string {
  const s = v === null || v === undefined ? '(empty)' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

/**
 * --apply's check of an update: the fields whose value on the server is no longer the one the plan saw, as
 * "port_count is now 30, the plan saw 48; …", or undefined when the server still holds every `before` value.
 */
export function movedSince(before: Record<string, unknown>, current: Record<string, unknown>): string | undefined {
  const moved = Object.keys(before).filter((f) => !sameValue(before[f], current[f]));
  if (moved.length === 0) return undefined;
  return moved.map((f) => `${f} is now ${JSON.stringify(current[f] ?? null)}, the plan saw ${JSON.stringify(before[f] ?? null)}`).join('; ');
}
