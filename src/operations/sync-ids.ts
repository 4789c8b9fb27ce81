/**
 * An id column in sync's file. export writes `bk_inst_id` first (update-inst names instances by it), so an exported
 * file has one; sync names instances by --key, so the id is never sent, only checked after the key is looked up: a row
 * whose key names another instance than its id, or none, is a conflict — the key was edited in the file (sync cannot
 * change a key) or the instance was replaced since the export. Creating it would make a second instance.
 */
import type { InputRecord } from '../core/types.js';
import { conflict } from './sync.js';
import type { CheckedRow } from './types.js';

/** The column export writes every instance's id in, a host's bk_host_id included (src/export/query.ts, ID_COLUMN). */
export const EXPORTED_ID = 'bk_inst_id';

/** The record without its id column, for the model's checks (the id is not a field of the model). */
export function withoutId(rec: InputRecord): InputRecord {
  if (!(EXPORTED_ID in rec.values)) return rec;
  const values: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(rec.values)) if (k !== EXPORTED_ID) values[k] = v;
  return { ...rec, values };
}

/** After the key is looked up: a row whose id cell disagrees with the instance its key names is a conflict. */
export function checkId(r: CheckedRow, o: { key: string; obj: string }): void {
  const cell = r.values[EXPORTED_ID];
  const given = cell === undefined || cell === null ? '' : String(cell).trim();
  if (given === '' || r.errors.length || (r.action !== 'create' && r.action !== 'update' && r.action !== 'unchanged')) return;
  const value = String(r.payload[o.key]);
  if (r.action === 'create') {
    return conflict(r, `the row's ${EXPORTED_ID} is ${given}, but no ${o.obj} instance has ${o.key} "${value}": if ${o.key} was edited, sync cannot change it (update-inst names instances by ${EXPORTED_ID}); to create the row as a new instance, empty its ${EXPORTED_ID}`);
  }
  const found = String(r.action === 'update' ? r.payload.inst_id : r.settled?.id);
  if (found !== given) conflict(r, `${o.key} "${value}" is instance ${found}, but the row's ${EXPORTED_ID} is ${given}: the file and the server disagree on which instance the row is; nothing sent for it`);
}
