/**
 * File formats and the one table that maps a file name's extension to a format. The input reader, the report
 * and the command line all ask here (`--format` / `--report-format` take their choices from these lists).
 */
import { extname } from 'node:path';
import type { InputFormat, ReportFormat } from './types.js';

export const INPUT_FORMATS = ['csv', 'json', 'ndjson', 'xlsx'] as const satisfies readonly InputFormat[];
export const REPORT_FORMATS = ['csv', 'json', 'ndjson'] as const satisfies readonly ReportFormat[];

/**
 * Extension → format. `.tsv` and `.txt` (Excel's "Unicode Text") are delimited text too, read as CSV with the
 * delimiter found in the header; a report is never written as CSV under those names (`readOnly`).
 */
const BY_EXTENSION: Readonly<Record<string, { format: InputFormat; readOnly?: true }>> = {
  csv: { format: 'csv' },
  tsv: { format: 'csv', readOnly: true },
  txt: { format: 'csv', readOnly: true },
  json: { format: 'json' },
  ndjson: { format: 'ndjson' },
  jsonl: { format: 'ndjson' },
  // Workbooks (docs/excel.md); a report is never written as a workbook.
  xlsx: { format: 'xlsx', readOnly: true },
  xlsm: { format: 'xlsx', readOnly: true },
};

function entryOf(path: string): { format: InputFormat; readOnly?: true } | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  return path !== '-' && Object.hasOwn(BY_EXTENSION, ext) ? BY_EXTENSION[ext] : undefined;
}

/** The extensions the table knows, for messages: '.csv, .tsv, .txt, .json, .ndjson, .jsonl'. */
export const KNOWN_EXTENSIONS = Object.keys(BY_EXTENSION).map((e) => `.${e}`);

/** The format a path's extension names (case-insensitive), or undefined; '-' (standard input) has none. */
export function formatOfPath(path: string): InputFormat | undefined {
  return entryOf(path)?.format;
}

/** The report format a path's extension names, or undefined. */
export function reportFormatOfPath(path: string): ReportFormat | undefined {
  const e = entryOf(path);
  return e && !e.readOnly && (REPORT_FORMATS as readonly string[]).includes(e.format) ? (e.format as ReportFormat) : undefined;
}

