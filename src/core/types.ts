/**
 * The shared vocabulary of the tool. Every module speaks in these terms:
 * a record read from the input, a row outcome in the report.
 */

export type InputFormat = 'csv' | 'json' | 'ndjson' | 'xlsx';
export type ReportFormat = 'csv' | 'json' | 'ndjson';

/**
 * Type hints a CSV header may carry: `port_count:int`. The last six are aPaaS field kinds
 * (src/operations/feishu/values.ts); other commands treat them as text.
 */
export type TypeHint =
  | 'string' | 'int' | 'number' | 'float' | 'bool' | 'json' | 'date'
  | 'bigint' | 'decimal' | 'datetime' | 'multiselect' | 'lookup' | 'multilingual';
export const TYPE_HINTS: readonly TypeHint[] = [
  'string', 'int', 'number', 'float', 'bool', 'json', 'date',
  'bigint', 'decimal', 'datetime', 'multiselect', 'lookup', 'multilingual',
];

/** One record as read from the input, before validation. */
export interface InputRecord {
  /** 1-based position of the record in the input (CSV header not counted); for .xlsx, the row number in the sheet. */
  row: number;
  /** 1-based line of the file where the record starts, for messages. */
  line: number;
  /**
   * CSV and .xlsx: cell text keyed by column name (type hint stripped from the name; a workbook's numbers,
   * booleans and dates written as text, see input/xlsx-cells.ts).
   * JSON / NDJSON: the parsed object as is. Always a null-prototype object.
   */
  values: Record<string, unknown>;
  /**
   * Set when the record could not be read (ragged CSV row, bad NDJSON line). values is then empty, except for a
   * ragged CSV row: the cells it has, by position (extra cells joined into the last column), for the report and
   * the --failed file; such a record is never sent.
   */
  error?: string;
  /**
   * JSON / NDJSON: the record's own text in the input (one line, no surrounding whitespace), when `values` is what
   * it parses to. The report writes it as the row's `input` instead of serialising `values` again (report/writer.ts).
   */
  valuesJson?: string;
  /**
   * CSV: the record's cells as the report's CSV writes them (comma-joined, none quoted or neutralised), when they
   * need no quoting and start no formula; the report writes it as the row's input cells (report/writer.ts).
   */
  valuesCsv?: string;
}

/** `unchanged`: already as the file says, nothing sent (sync); it counts as success. */
export type RowStatus = 'ok' | 'failed' | 'invalid' | 'unsent' | 'unchanged';
export const ROW_STATUSES: readonly RowStatus[] = ['ok', 'failed', 'invalid', 'unsent', 'unchanged'];

/** The outcome of one input row: one line of the report. */
export interface RowOutcome {
  row: number;
  status: RowStatus;
  /** Created instance / association / record id, or the id the row addressed. */
  id?: string | number;
  error_code?: string | number;
  error?: string;
  /** Extra detail, e.g. "already exists", "found after ambiguous create", "resolved bk_asset_id=A1 -> 42". */
  detail?: string;
  /** What the run did to the row's target (sync: create / update / unchanged / conflict / delete). */
  action?: string;
  /** The values an update replaced, field → value before the run (what `revert` puts back). */
  before?: Record<string, unknown>;
  /** The input record's own values, so the report keeps the source row. */
  values?: Record<string, unknown>;
  /** `values` as JSON text, when known: the input's own text of the record (InputRecord.valuesJson). */
  valuesJson?: string;
  /** `values` as the report's CSV cells, when known (InputRecord.valuesCsv). */
  valuesCsv?: string;
}

export interface StatusCounts {
  ok: number;
  failed: number;
  invalid: number;
  unsent: number;
  unchanged: number;
}
