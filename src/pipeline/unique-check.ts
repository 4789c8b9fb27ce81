/**
 * A dry run's extra check: two rows of one file with the same value of the unique field rows are looked up by
 * (create-inst's bk_asset_id, apaas-create's --key, apaas-delete's _id). The server would refuse the second; the
 * plan says so now. Rows are checked in input order, so both passes find the same rows (`reset()` between them).
 * Memory: a fingerprint per distinct value (src/pipeline/seen-values.ts, ~24 bytes), for a dry run only.
 *
 * A chunk of rows is looked up together (Session.checkTogether), not each row as it is checked, and the set is made
 * for about as many values as the file has rows (rowsInFile): its tables are larger than the processor's caches,
 * and a loop that only reads lets several of those reads wait at once (docs/decisions.md, "The repeated-value check
 * keeps fingerprints, not strings").
 */
import { statSync } from 'node:fs';
import type { InputFormat } from '../core/types.js';
import type { CheckedRow, Session } from '../operations/types.js';
import { cellText } from '../report/csv.js';
import { SeenValues } from './seen-values.js';

export interface UniqueChecked extends Session {
  /** Forget the values seen (before the input is read again). */
  reset(): void;
}

/**
 * The session, its checkTogether() also refusing a row whose unique value an earlier row has. `expectRows`: about how
 * many rows the input has, judged from its first chunk (rowsInFile()), to size the set of values once.
 */
export function checkUniqueInFile(session: Session, expectRows?: (first: CheckedRow[]) => number): UniqueChecked {
  const key = session.uniqueKey;
  let seen: SeenValues | undefined;
  const texts: string[] = [];
  const firsts: (number | undefined)[] = [];
  return {
    ...session,
    reset: () => {
      seen = undefined;
    },
    checkTogether(rows: CheckedRow[]): void {
      session.checkTogether?.(rows);
      if (key === undefined) return;
      seen ??= new SeenValues(expectRows?.(rows) ?? 0);
      texts.length = 0;
      for (const r of rows) {
        const v = r.payload[key];
        texts.push(v === undefined || v === null || v === '' ? '' : cellText(v));
      }
      seen.firstsOf(texts, rows, firsts);
      for (let i = 0; i < rows.length; i++) {
        const first = firsts[i];
        if (first === undefined) continue;
        const text = texts[i]!;
        rows[i]!.errors.push({ field: key, value: text, message: `${key} "${text}" is also in row ${first}: ${key} is unique, so the server would refuse one of them` });
      }
    },
  };
}

/**
 * About how many rows a file of `path` holds, from the bytes its first rows take: the file's size over their mean
 * (each value's UTF-8 bytes and a separator; JSON formats also their keys and quotes). A compressed workbook counts
 * too few, which only means the set grows as it fills; 0 when the file cannot be read or the rows are empty.
 */
export function rowsInFile(path: string, format: InputFormat, first: CheckedRow[]): number {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return 0;
  }
  const json = format === 'json' || format === 'ndjson';
  let bytes = 0;
  for (const r of first) {
    for (const k in r.values) {
      bytes += Buffer.byteLength(cellText(r.values[k])) + 1;
      if (json) bytes += Buffer.byteLength(k) + 5;
    }
  }
  return bytes === 0 ? 0 : Math.round((size * first.length) / bytes);
}
