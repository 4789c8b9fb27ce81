/**
 * File formats and the one table that maps a file name's extension to a format. The input reader, the report
 * and the command line all ask here (`--format` / `--report-format` take their choices from these lists).
 */
import { extname } from 'node:path';
import type { InputFormat, ReportFormat } from './types.js';

export const INPUT_FORMATS = ['csv', 'json', 'ndjson'] as const satisfies readonly InputFormat[];
export const REPORT_FORMATS = ['csv', 'json', 'ndjson'] as const satisfies readonly ReportFormat[];

const BY_EXTENSION: Readonly<Record<string, InputFormat>> = { csv: 'csv', json: 'json', ndjson: 'ndjson', jsonl: 'ndjson' };

/** The extensions the table knows, for messages: '.csv, .json, .ndjson or .jsonl'. */
export const KNOWN_EXTENSIONS = Object.keys(BY_EXTENSION).map((e) => `.${e}`);

/** The format a path's extension names (case-insensitive), or undefined; '-' (standard input) has none. */
export function formatOfPath(path: string): InputFormat | undefined {
  if (path === '-') return undefined;
  return BY_EXTENSION[extname(path).slice(1).toLowerCase()];
}

/** The report format a path's extension names, or undefined. */
export function reportFormatOfPath(path: string): ReportFormat | undefined {
  const f = formatOfPath(path);
  return (REPORT_FORMATS as readonly string[]).includes(f as string) ? (f as ReportFormat) : undefined;
}

