/**
 * One workbook cell → the text the field checks read (the same text a CSV cell would hold), or the reason it
 * cannot be used. Cells keep what their type says: an Excel number is written exactly as Excel shows it (15
 * significant digits), a boolean as true / false, a date cell as YYYY-MM-DD (with HH:MM:SS when it has a time),
 * rich text as its plain text, a formula as its saved result. What cannot be trusted is refused with the reason:
 * long numbers Excel rounded (`1.79868E+15`), error cells (#N/A), formulas without a saved value.
 */

/** A cell that cannot be used, and why (the caller adds the row and column). */
export class CellProblem {
  constructor(readonly message: string) {}
}

/** Excel keeps 15 significant digits: a whole number of 16 digits or more has lost its last ones. */
const EXCEL_DIGITS = 1e15;
/** Text as Excel shows a long number in General format (`1.79868E+15`): the digits are already gone. */
const SCIENTIFIC_ID = /^[+-]?\d(\.\d+)?E\+?(1[1-9]|[2-9]\d)$/i;

const ROUNDED_HINT = 'format the column as Text in Excel and enter the values again (or paste them from the source as text)';

/** The text of a cell value as the streaming reader gives it; '' for an empty cell. */
export function cellText(v: unknown): string | CellProblem {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string':
      return SCIENTIFIC_ID.test(v.trim())
        ? new CellProblem(`"${v}" is a number Excel rounded and wrote in scientific notation; its last digits are lost: ${ROUNDED_HINT}`)
        : v;
    case 'number':
      return numberText(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return objectText(v as object);
    default:
      return String(v);
  }
}

function numberText(n: number): string | CellProblem {
  if (!Number.isFinite(n)) return new CellProblem(`the number ${n} cannot be sent`);
  if (Number.isInteger(n) && Math.abs(n) >= EXCEL_DIGITS) {
    return new CellProblem(
      `the number ${n} has ${String(Math.abs(n)).length} digits, but Excel keeps only 15: a long id was probably rounded (Excel shows ${n.toExponential(5).toUpperCase()}); ${ROUNDED_HINT}`,
    );
  }
  // Excel writes up to 17 digits into the file (0.30000000000000004) but shows and means 15.
  return String(Number(n.toPrecision(15)));
}

function objectText(v: object): string | CellProblem {
  if (v instanceof Date) return dateText(v);
  const o = v as { richText?: Array<{ text?: string }>; formula?: string; sharedFormula?: string; result?: unknown; error?: string; text?: unknown };
  if (Array.isArray(o.richText)) return o.richText.map((r) => r.text ?? '').join('');
  if (o.formula !== undefined || o.sharedFormula !== undefined) {
    if (o.result === undefined || o.result === null) {
      return new CellProblem('the cell holds a formula without a saved value: open the file in Excel and save it, or paste the values instead of the formula');
    }
    return cellText(o.result); // an error result ({error}) is refused below, like an error cell
  }
  if (o.error !== undefined) return new CellProblem(`the cell holds the Excel error ${o.error}: fix the cell or empty it`);
  if (o.text !== undefined) return cellText(o.text); // a hyperlink: its text
  return new CellProblem('the cell holds a value of a kind this tool does not read (a picture or an object): use text');
}

/** A date cell (read as UTC by the reader): YYYY-MM-DD, with HH:MM:SS when it has a time of day. */
function dateText(d: Date): string | CellProblem {
  if (Number.isNaN(d.getTime())) return new CellProblem('the cell holds a date Excel cannot show (####)');
  const iso = d.toISOString(); // 2024-05-01T13:05:09.000Z
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  return time === '00:00:00' ? day : `${day} ${time}`;
}

/** Whether every cell of a row from column `from` (1 = A) on is empty (Excel keeps rows that only had formatting). */
export function isBlankRow(values: readonly unknown[], from = 1): boolean {
  for (let c = from; c < values.length; c++) {
    const v = values[c];
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' && v.trim() === '') continue;
    return false;
  }
  return true;
}
