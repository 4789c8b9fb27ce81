import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvScanner, CsvSyntaxError, type CsvCells } from '../../src/input/csv-scan.js';

/** The options the reader used with csv-parse before the scanner replaced it: the reference behaviour. */
const reference = (text: string, delimiter = ',') =>
  parse(text, { delimiter, relax_column_count: true, skip_empty_lines: false, record_delimiter: ['\r\n', '\n', '\r'] }) as string[][];

/** Scans `text` cut into the given pieces. */
function scanRaw(pieces: string[], delimiter = ','): CsvCells[] {
  const s = new CsvScanner(delimiter);
  const out: CsvCells[] = [];
  for (const p of pieces) s.push(p, out);
  s.end(out);
  return out;
}
/** The cells only (plain arrays). */
const scan = (pieces: string[], delimiter = ','): string[][] => scanRaw(pieces, delimiter).map((c) => [...c]);

const CASES = [
  'a,b,c\n1,2,3\n',
  'a,b,c\n1,2,3', // no final newline
  'a,b\r\n1,"x\r\ny"\r\n3,4\r\n',
  'a\r\rb\r\nc\n\nd',
  '\n\na,b\n   \n1,2\n',
  'a,"b""",c\n"""",""\n', // doubled quotes, a lone quote, an empty quoted cell
  'a,b,\n,,\n,\n',
  '"x, y","say ""hi""","line1\nline2"\n"  padded  ",2,3\n',
  '交换机,"华为, 北京",备注\n',
  'a,"",""""""\n',
  '"a"\r"b"\n"c"\r\n',
  'x',
  ',',
  '""',
];

describe('CsvScanner', () => {
  it('gives the same cells as csv-parse, however the text is cut into chunks', () => {
    for (const text of CASES) {
      const want = reference(text);
      expect(scan([text]), JSON.stringify(text)).toEqual(want);
      for (let cut = 0; cut <= text.length; cut++) {
        expect(scan([text.slice(0, cut), text.slice(cut)]), `${JSON.stringify(text)} cut at ${cut}`).toEqual(want);
      }
      // one character at a time
      expect(scan([...text]), `${JSON.stringify(text)} by characters`).toEqual(want);
    }
  });

  it('counts the line breaks inside quoted cells of each record, however the text is cut', () => {
    const text = 'a,"x\ny\nz"\n"p\r\nq",r\n1,2\n"",""\n';
    for (let cut = 0; cut <= text.length; cut++) {
      expect(scanRaw([text.slice(0, cut), text.slice(cut)]).map((c) => c.newlines), `cut at ${cut}`).toEqual([2, 1, undefined, undefined]);
    }
  });

  it("keeps a record's own text when asked, only for records without a quoted cell, however the text is cut", () => {
    const texts = (pieces: string[]) => {
      const s = new CsvScanner(',', true);
      const out: CsvCells[] = [];
      for (const p of pieces) s.push(p, out);
      s.end(out);
      return out.map((c) => c.text);
    };
    for (const text of CASES) {
      const whole = new CsvScanner(',', true);
      const records: CsvCells[] = [];
      whole.push(text, records);
      whole.end(records);
      // The cells joined, for a record without a quote (one with a quoted cell has none: the last expectation below).
      records.forEach((cells, i) => cells.text === undefined || expect(cells.text, `${JSON.stringify(text)} record ${i}`).toBe(cells.join(',')));
      if (!text.includes('"')) expect(records.every((c) => c.text !== undefined), JSON.stringify(text)).toBe(true);
      const want = records.map((c) => c.text);
      for (let cut = 0; cut <= text.length; cut++) expect(texts([text.slice(0, cut), text.slice(cut)]), `${JSON.stringify(text)} cut at ${cut}`).toEqual(want);
      expect(texts([...text]), `${JSON.stringify(text)} by characters`).toEqual(want);
    }
    expect(texts(['a,b\r\n"a",b\nx,\n"q"\r\n,\n'])).toEqual(['a,b', undefined, 'x,', undefined, ',']);
    expect(scanRaw(['a,b\n']).map((c) => c.text)).toEqual([undefined]); // not asked
  });

  it('uses the delimiter it is given (tab, semicolon)', () => {
    expect(scan(['a\tb,c\t"d\te"\n'], '\t')).toEqual(reference('a\tb,c\t"d\te"\n', '\t'));
    expect(scan(['a;1,5\n'], ';')).toEqual([['a', '1,5']]);
  });

  it('refuses what csv-parse refuses: unclosed quote, quote inside an unquoted cell, text after a closing quote', () => {
    const bad: Array<[string, string, number]> = [
      ['a,b\n"5,6\n7,8\n', 'QUOTE_NOT_CLOSED', 0],
      ['a,b"c\n', 'INVALID_OPENING_QUOTE', 0],
      ['a, "b"\n', 'INVALID_OPENING_QUOTE', 0],
      ['"x"y,3\n', 'INVALID_CLOSING_QUOTE', 0],
      ['"two\nlines"x\n', 'INVALID_CLOSING_QUOTE', 1],
    ];
    for (const [text, code, lineOffset] of bad) {
      expect(() => reference(text), text).toThrow();
      let err: unknown;
      try {
        scan([text]);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(CsvSyntaxError);
      expect((err as CsvSyntaxError).code, text).toBe(code);
      expect((err as CsvSyntaxError).lineOffset, text).toBe(lineOffset);
    }
  });

  it('keeps the records before a syntax error in the output', () => {
    const out: string[][] = [];
    const s = new CsvScanner(',');
    expect(() => s.push('a,b\n1,2\n"x"y,3\n', out)).toThrow(CsvSyntaxError);
    expect(out).toEqual([['a', 'b'], ['1', '2']]);
  });
});
