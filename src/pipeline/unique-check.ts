/**
 * A dry run's extra check: two rows of one file with the same value of the unique field rows are looked up by
 * (create-inst's bk_asset_id, apaas-create's --key, apaas-delete's _id). The server would refuse the second; the
 * plan says so now. Rows are checked in input order, so both passes find the same rows (`reset()` between them).
 * Memory: a fingerprint per distinct value (src/pipeline/seen-values.ts, ~24 bytes), for a dry run only.
 */
import type { CheckedRow, Session } from '../operations/types.js';
import { cellText } from '../report/csv.js';
import { SeenValues } from './seen-values.js';

export interface UniqueChecked extends Session {
  /** Forget the values seen (before the input is read again). */
  reset(): void;
}

/** The session, its check() also refusing a row whose unique value an earlier row has. */
export function checkUniqueInFile(session: Session): UniqueChecked {
  const key = session.uniqueKey;
  let seen = new SeenValues();
  return {
    ...session,
    reset: () => {
      seen = new SeenValues();
    },
    check(rec): CheckedRow {
      const r = session.check(rec);
      const v = key !== undefined ? r.payload[key] : undefined;
      if (v === undefined || v === null || v === '') return r;
      const text = cellText(v);
      const first = seen.firstOr(text, r.row);
      if (first !== undefined) r.errors.push({ field: key, value: text, message: `${key} "${text}" is also in row ${first}: ${key} is unique, so the server would refuse one of them` });
      return r;
    },
  };
}
