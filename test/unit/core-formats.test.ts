/** The one extension → format table, as the input reader, the report and the command line use it. */
import { describe, expect, it } from 'vitest';
import { formatOfPath, INPUT_FORMATS, KNOWN_EXTENSIONS, reportFormatOfPath } from '../../src/core/formats.js';
import { detectFormat } from '../../src/input/index.js';

describe('formatOfPath', () => {
  it('maps each known extension, in any case', () => {
    expect(['a.csv', 'dir/B.CSV', 'x.tsv', 'unicode.txt', 'x.json', 'x.ndjson', 'x.JSONL', 'book.XLSX', 'macro.xlsm'].map(formatOfPath)).toEqual(['csv', 'csv', 'csv', 'csv', 'json', 'ndjson', 'ndjson', 'xlsx', 'xlsx']);
    expect(KNOWN_EXTENSIONS).toEqual(['.csv', '.tsv', '.txt', '.json', '.ndjson', '.jsonl', '.xlsx', '.xlsm']);
    expect(INPUT_FORMATS).toEqual(['csv', 'json', 'ndjson', 'xlsx']);
    expect(reportFormatOfPath('out.xlsx')).toBeUndefined(); // a report is never a workbook
  });

  it('knows nothing of stdin, other extensions, or a dot file', () => {
    expect(['-', 'a.xls', 'a', '.csv', 'dir.csv/file', 'a.csv.bak', 'a.constructor'].map(formatOfPath)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('is what the input reader and the report use', () => {
    expect(detectFormat('in.jsonl')).toBe('ndjson');
    expect(reportFormatOfPath('out.report.jsonl')).toBe('ndjson');
    expect(reportFormatOfPath('out.report.xml')).toBeUndefined();
    // read as CSV, but a report named .tsv / .txt is not written as comma-separated CSV
    expect(reportFormatOfPath('out.report.tsv')).toBeUndefined();
    expect(reportFormatOfPath('out.report.txt')).toBeUndefined();
  });
});
