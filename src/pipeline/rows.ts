/**
 * Rows: the input read a chunk at a time, each record checked by the session, and each chunk resolved (key → id
 * look-ups) in one go. Both passes read the input through this one stage.
 */
import type { InputRecord } from '../core/types.js';
import type { InputSource } from '../input/index.js';
import type { CheckedRow, Session } from '../operations/types.js';
import type { FieldError } from '../schema/rows.js';

/** Rows resolved together: one look-up request covers a chunk. */
export const RESOLVE_CHUNK = 500;

/** One record, and its check (absent when `skip` said the row is settled already). */
export interface RowItem {
  rec: InputRecord;
  checked?: CheckedRow;
}

export interface RowsOptions {
  /** Rows settled by an earlier run: read, not checked. */
  skip(rec: InputRecord): boolean;
  /** Whether to resolve the next chunk (a stopping run does not ask the server any more). */
  resolve(): boolean;
  /** Reading ends when this aborts (pass 1: Ctrl-C while checking). */
  stop?: AbortSignal;
  chunk?: number;
}

/** The header's problems: the operation's own checks, then the columns it requires that are missing. */
export function headerProblems(session: Session, columns: string[]): FieldError[] {
  const missing = (session.required ?? []).filter((c) => !columns.includes(c.column));
  return [...session.checkColumns(columns), ...missing.map((c) => ({ field: c.column, message: `column "${c.column}" is missing: ${c.why}` }))];
}

/** A record that could not be read (ragged CSV row, bad NDJSON line) is a row with that one error, never sent. */
export function checkRecord(session: Session, rec: InputRecord): CheckedRow {
  if (rec.error) return { row: rec.row, values: rec.values, payload: {}, group: '', errors: [{ message: rec.error }] };
  return session.check(rec);
}

/** The input's rows in chunks, in input order, checked and resolved. */
export async function* checkedRows(source: InputSource, session: Session, o: RowsOptions): AsyncGenerator<RowItem[]> {
  const size = o.chunk ?? RESOLVE_CHUNK;
  let chunk: RowItem[] = [];
  const resolved = async () => {
    // Every row, invalid ones too, so that each report row lists all its problems (answers are cached by the session).
    const rows: CheckedRow[] = [];
    for (const x of chunk) if (x.checked) rows.push(x.checked);
    session.checkTogether?.(rows);
    if (session.resolve && o.resolve() && rows.length) await session.resolve(rows);
    const out = chunk;
    chunk = [];
    return out;
  };
  // Records come a read chunk at a time: one await per chunk, not per row.
  for await (const batch of source.batches()) {
    for (const rec of batch) {
      if (o.stop?.aborted) {
        if (chunk.length) yield await resolved();
        return;
      }
      chunk.push(o.skip(rec) ? { rec } : { rec, checked: checkRecord(session, rec) });
      if (chunk.length >= size) yield await resolved();
    }
  }
  if (chunk.length) yield await resolved();
}
