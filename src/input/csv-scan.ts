/**
 * A small RFC 4180 CSV scanner for the input hot path.
 *
 * Why not csv-parse here: csv-parse walks every byte through a general state machine (comments, trimming, BOM,
 * multi-character delimiters...) and a 1,000,000-row file is read twice (check everything, then send), so it
 * alone took most of the time budget. This scanner does only what the reader needs — one-character delimiter,
 * `"` quotes with `""` inside, records ended by \r\n, \n or \r (mixed), blank lines kept as `['']`, quotes
 * strict — and gives the same cells as csv-parse with the options the reader used before
 * (`relax_column_count`, `skip_empty_lines: false`, `record_delimiter: ['\r\n', '\n', '\r']`);
 * test/unit/input-csv-scan.test.ts compares the two on tricky inputs.
 */

export type CsvSyntaxCode = 'QUOTE_NOT_CLOSED' | 'INVALID_OPENING_QUOTE' | 'INVALID_CLOSING_QUOTE';

export class CsvSyntaxError extends Error {
  constructor(
    readonly code: CsvSyntaxCode,
    message: string,
    /** Newlines between the start of the record and the problem (0: on the record's first line). */
    readonly lineOffset: number,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * The cells of one record; `newlines`: line breaks inside its quoted cells (absent when none); `text`: the record's
 * own text without its line end, when no cell was quoted (so it is the cells joined by the delimiter) and the
 * scanner was asked to keep it.
 */
export type CsvCells = string[] & { newlines?: number; text?: string };

const QUOTE = 34;
const LF = 10;
const CR = 13;

export class CsvScanner {
  private rest = '';
  private readonly d: number;

  /** `keepText`: give each record without a quoted cell its own text (CsvCells.text: a slice, no copy). */
  constructor(delimiter: string, private readonly keepText = false) {
    this.d = delimiter.charCodeAt(0);
  }

  /** Appends to `out` every record completed by `text`; an unfinished last record waits for the next chunk. */
  push(text: string, out: CsvCells[]): void {
    const s = this.rest === '' ? text : this.rest + text;
    this.rest = '';
    this.scan(s, false, out);
  }

  /** The input ended: the last record (if any) is complete, or an error. */
  end(out: CsvCells[]): void {
    const s = this.rest;
    this.rest = '';
    if (s !== '') this.scan(s, true, out);
  }

  private scan(s: string, final: boolean, out: CsvCells[]): void {
    const n = s.length;
    const d = this.d;
    const keep = this.keepText;
    let pos = 0;
    records: while (pos < n) {
      const start = pos;
      const cells: CsvCells = [];
      let quoted = false;
      let i = pos;
      for (;;) {
        if (i < n && s.charCodeAt(i) === QUOTE) {
          // Quoted cell: up to the quote that is not doubled.
          let value = '';
          let seg = i + 1;
          let q: number;
          for (;;) {
            q = s.indexOf('"', seg);
            if (q === -1 || (q + 1 === n && !final)) {
              if (!final) break records; // may close (or be doubled) in the next chunk
              throw new CsvSyntaxError('QUOTE_NOT_CLOSED', 'a quoted field is never closed', 0);
            }
            if (s.charCodeAt(q + 1) === QUOTE) {
              value += s.slice(seg, q + 1);
              seg = q + 2;
              continue;
            }
            break;
          }
          cells.push(value === '' ? s.slice(seg, q) : value + s.slice(seg, q));
          quoted = true;
          const lf = s.indexOf('\n', i + 1);
          if (lf !== -1 && lf < q) cells.newlines = (cells.newlines ?? 0) + newlines(s, i + 1, q);
          i = q + 1;
          if (i === n) {
            out.push(cells); // final (a non-final chunk ending here broke out above)
            pos = n;
            continue records;
          }
          const c = s.charCodeAt(i);
          if (c === d) {
            i++;
            continue;
          }
          if (c === LF) {
            out.push(cells);
            pos = i + 1;
            continue records;
          }
          if (c === CR) {
            if (i + 1 === n && !final) break records; // \r\n may be cut between chunks
            out.push(cells);
            pos = s.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
            continue records;
          }
          throw new CsvSyntaxError(
            'INVALID_CLOSING_QUOTE',
            `"${s[i]}" follows the closing quote of field ${cells.length} instead of the delimiter or the end of the line`,
            newlines(s, start, i),
          );
        }
        // Unquoted cell: up to the delimiter or the end of the line.
        let j = i;
        let c = 0;
        for (; j < n; j++) {
          c = s.charCodeAt(j);
          if (c === d || c === LF || c === CR || c === QUOTE) break;
        }
        if (j === n) {
          if (!final) break records;
          cells.push(s.slice(i, n));
          if (keep && !quoted) cells.text = s.slice(start, n);
          out.push(cells);
          pos = n;
          continue records;
        }
        if (c === QUOTE) {
          throw new CsvSyntaxError(
            'INVALID_OPENING_QUOTE',
            `a quote inside unquoted field ${cells.length + 1} (value so far "${s.slice(i, j)}")`,
            newlines(s, start, j),
          );
        }
        cells.push(s.slice(i, j));
        if (c === d) {
          i = j + 1;
          if (i === n && final) {
            cells.push('');
            if (keep && !quoted) cells.text = s.slice(start, n);
            out.push(cells);
            pos = n;
            continue records;
          }
          continue;
        }
        if (keep && !quoted) cells.text = s.slice(start, j);
        if (c === CR) {
          if (j + 1 === n && !final) break records;
          out.push(cells);
          pos = s.charCodeAt(j + 1) === LF ? j + 2 : j + 1;
          continue records;
        }
        out.push(cells); // LF
        pos = j + 1;
        continue records;
      }
    }
    if (pos < n) this.rest = s.slice(pos);
  }
}

function newlines(s: string, from: number, to: number): number {
  let k = 0;
  for (let i = s.indexOf('\n', from); i !== -1 && i < to; i = s.indexOf('\n', i + 1)) k++;
  return k;
}
