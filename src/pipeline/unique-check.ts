/**
 * A dry run's extra check: two rows of one file with the same value of the unique field rows are looked up by
 * (create-inst's bk_asset_id, apaas-create's --key, apaas-delete's _id). The server would refuse the second; the
 * plan says so now. Rows are checked in input order, so both passes find the same rows (`reset()` between them).
 * Memory: a fingerprint per distinct value (src/pipeline/seen-values.ts, ~24 bytes), for a dry run only.
 *
 * A chunk of rows is looked up together (Session.checkTogether), not each row as it is checked: the set's tables
 * are larger than the processor's caches, so nearly every look-up waits for memory, and a loop doing nothing but
 * look-ups lets the processor wait for several at once (docs/performance.md, issue 16 "the unique check").
 */
import type { CheckedRow, Session } from '../operations/types.js';
import { cellText } from '../report/csv.js';
import { SeenValues } from './seen-values.js';

export interface UniqueChecked extends Session {
  /** Forget the values seen (before the input is read again). */
  reset(): void;
}

/** The session, its checkTogether() also refusing a row whose unique value an earlier row has. */
export function checkUniqueInFile(session: Session): UniqueChecked {
  const key = session.uniqueKey;
  let seen = new SeenValues();
  const texts: string[] = [];
  const firsts: (number | undefined)[] = [];
  return {
    ...session,
    reset: () => {
      seen = new SeenValues();
    },
    checkTogether(rows: CheckedRow[]): void {
      session.checkTogether?.(rows);
      if (key === undefined) return;
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
