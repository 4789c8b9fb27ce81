/** The id a row names its target by (bk_inst_id, bk_process_id): what every operation that addresses a record checks. */
import { compileField } from '../schema/fields.js';
import type { FieldError } from '../schema/rows.js';

const checkId = compileField({ name: 'id', type: 'id' });

/**
 * The id in `values[column]` (a whole number > 0; text when `isText`), or the error that says what is wrong with it.
 * `names`: what the id names, for the message ("the instance to update").
 */
export function idCell(values: Record<string, unknown>, column: string, isText: boolean, names: string): { id?: number; error?: FieldError } {
  const raw = values[column];
  if (raw === undefined || raw === '' || raw === null) return { error: { field: column, message: `${column} is required: it names ${names}` } };
  const r = checkId(raw, isText);
  if (r.error !== undefined) return { error: { field: column, value: raw, message: `${column}: ${r.error}` } };
  return { id: r.value as number };
}
