/**
 * Headers that are a field's display name (bk_property_name) instead of its id: `固资编号`, `Asset ID`,
 * `实例名(必填)` as CMDB's own workbook writes required fields. A header names a field when, trimmed, in any case
 * and without the `(必填)` / `(Required)` suffix, it equals the display name of exactly one field; ids always win
 * over display names. A display name that several fields share names none of them: the user is asked to pick.
 */
import { didYouMean, type FieldSpec } from './fields.js';

export type DisplayMatch = { field: string } | { ambiguous: string[] } | undefined;

/** Display name, normalised → the ids of the fields that have it. */
export type DisplayIndex = ReadonlyMap<string, readonly string[]>;

// resources/language/{default,en}/web.json web_excel_header_required, with full-width brackets too.
const REQUIRED_SUFFIX = /\s*[(（]\s*(必填|required)\s*[)）]\s*$/i;

/** The form headers and display names are compared in. */
export function displayKey(header: string): string {
  return header.trim().replace(REQUIRED_SUFFIX, '').trim().toLowerCase();
}

export function displayIndex(specs: Iterable<FieldSpec>): DisplayIndex {
  const index = new Map<string, string[]>();
  for (const s of specs) {
    if (!s.label) continue;
    const k = displayKey(s.label);
    if (k === '') continue;
    const ids = index.get(k);
    if (ids) ids.push(s.name);
    else index.set(k, [s.name]);
  }
  return index;
}

/** The field a header names by its display name, or the fields it could mean. */
export function matchDisplayName(index: DisplayIndex, header: string): DisplayMatch {
  const ids = index.get(displayKey(header));
  if (!ids) return undefined;
  return ids.length === 1 ? { field: ids[0]! } : { ambiguous: [...ids] };
}

/**
 * The closest field to an unknown header, by id or by display name: `"bk_asset_id"`, or `"固资编号" (bk_asset_id)`
 * when the display name is the near one.
 */
export function suggestField(header: string, specs: ReadonlyMap<string, { spec: FieldSpec }>, others: Iterable<string>): string | undefined {
  const byLabel = new Map<string, string>();
  for (const { spec } of specs.values()) if (spec.label && !byLabel.has(spec.label)) byLabel.set(spec.label, spec.name);
  const near = didYouMean(header.replace(REQUIRED_SUFFIX, '').trim(), [...specs.keys(), ...others, ...byLabel.keys()]);
  if (near === undefined) return undefined;
  const id = specs.has(near) ? undefined : byLabel.get(near);
  return id ? `"${near}" (${id})` : `"${near}"`;
}
