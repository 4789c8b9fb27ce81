/**
 * CSV cell encoding shared by the report and the failed-rows file.
 * RFC 4180 quoting; lines end with "\n" (every CSV reader, csv-parse and Excel included, accepts it).
 */

/** First characters a spreadsheet treats as the start of a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Plain numbers (`-5`, `+1.5`, `-2e3`) are data, not formulas: they are left alone. */
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Text of a value for a cell: nothing for null/undefined, JSON for objects and arrays. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Encodes one cell. With `neutralise`, a value that a spreadsheet would run as a formula gets a leading `'`
 * (used for the report, which people open in Excel; not for the failed-rows file, which is input data).
 */
export function csvCell(value: unknown, neutralise: boolean, delimiter = ','): string {
  if (value === undefined || value === null) return '';
  // A number's text has no delimiter, quote or newline, and a plain number is never neutralised.
  if (typeof value === 'number') return String(value);
  let s = typeof value === 'string' ? value : cellText(value);
  if (s === '') return s;
  if (neutralise) {
    const c = s.charCodeAt(0);
    // = + - @ tab CR
    if ((c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  }
  // Quote when the cell holds the delimiter, a quote or a line break (a loop: cheaper than a regex on short cells,
  // and this runs for every cell of every row of the report).
  const d = delimiter.charCodeAt(0);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === d || c === 34 || c === 10 || c === 13) return s.includes('"') ? `"${s.replace(/"/g, '""')}"` : `"${s}"`;
  }
  return s;
}

/** Undoes the neutralising prefix of {@link csvCell} (for reading a report back). */
export function unneutralise(s: string): string {
  return s.length > 1 && s[0] === "'" && FORMULA_START.test(s.slice(1)) && !PLAIN_NUMBER.test(s.slice(1)) ? s.slice(1) : s;
}

export function csvLine(cells: unknown[], neutralise: boolean, delimiter = ','): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) line += delimiter;
    line += csvCell(cells[i], neutralise, delimiter);
  }
  return line + '\n';
}
