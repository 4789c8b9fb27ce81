/**
 * An operation describes itself to the pipeline: its command, its batch limits, whether the server applies a
 * batch all-or-nothing, whether re-sending is safe, how to check a row, how to send a batch and read the answer.
 * The pipeline (src/pipeline/) knows nothing about CMDB or Feishu; it runs whatever Operation it is handed.
 */
import type { InputRecord } from '../core/types.js';
import type { InputSource } from '../input/index.js';
import type { CmdbApi } from '../http/cmdb.js';
import type { FeishuApi } from '../http/feishu.js';
import type { FieldError } from '../schema/rows.js';
import type { OperationFlagValues } from '../cli/manifests/operations.js';

/** A row that passed (or failed) the operation's checks. */
export interface CheckedRow {
  row: number;
  /** The record's own values, kept for the report and the --failed file. */
  values: Record<string, unknown>;
  /** What is sent for this row (the operation decides the shape). */
  payload: Record<string, unknown>;
  /** Rows with different groups never share a batch (associations of different kinds). */
  group: string;
  errors: FieldError[];
  /** Extra words for the report, e.g. how a key was resolved. */
  detail?: string;
}

export type RowResult =
  | { ok: true; id?: string | number; detail?: string }
  | { ok: false; code?: string | number; error: string; detail?: string };

/** What the server said about a whole batch. */
export type BatchVerdict =
  /** One result per row, in batch order. */
  | { kind: 'rows'; results: RowResult[] }
  /**
   * The whole batch was refused. `named`: indexes of the rows the error names (the rest may be re-sent as they are);
   * `splittable`: a row-level reason the error does not pin on a row (bisect to find it); otherwise every row fails
   * with this error.
   */
  | { kind: 'rejected'; code?: string | number; message: string; named?: number[]; splittable: boolean };

/**
 * The operation's options: the flags each command declares as its own (src/cli/manifests/operations.ts), plus
 * two of the input's. Declared there once; a new flag there is typed here without a second list.
 */
export type OperationOptions = OperationFlagValues & {
  noSchema: boolean;
  empty: 'omit' | 'null';
};

export interface OperationContext {
  cmdb?: CmdbApi;
  feishu?: FeishuApi;
  options: OperationOptions;
  source: InputSource;
  /** Informational line for the user (stderr; silent with --quiet). */
  info(line: string): void;
  signal: AbortSignal;
}

export interface Session {
  /** Called once with the CSV header: unknown columns, missing key columns. Problems here stop the run (exit 2). */
  checkColumns(columns: string[]): FieldError[];
  /** Checks one record; sync and fast, it runs for every row in both passes. */
  check(rec: InputRecord): CheckedRow;
  /** Optional look-ups for a chunk of checked rows (key → id resolution); may add errors to rows. */
  resolve?(rows: CheckedRow[]): Promise<void>;
  /** Sends one batch (rows without errors, one group) and reads the answer. Transport problems throw. */
  send(rows: CheckedRow[], signal: AbortSignal): Promise<BatchVerdict>;
  /**
   * For creates: after an ambiguous answer, which of these rows exist now? One entry per row: the id when it
   * exists, null when it certainly does not (safe to send again), undefined when this row cannot be checked.
   * Absent when the operation has no unique field to check by.
   */
  findExisting?(rows: CheckedRow[], signal: AbortSignal): Promise<(string | number | null | undefined)[]>;
  /** Lines describing the plan for --dry-run (what model, which key, ...). */
  describe?(): string[];
  /** Words for rows whose outcome stays unknown, naming how to check them. */
  readonly uniqueKey?: string;
}

export interface Operation {
  command: string;
  /** The API operation, as in the docs (batch_create_inst ...). */
  api: string;
  service: 'cmdb' | 'feishu';
  /** The server's limit per request, or null when it has none. */
  maxBatch: number | null;
  defaultBatch: number;
  /** The server applies a batch all or nothing. */
  atomic: boolean;
  /** Re-sending a batch that may have been applied is harmless (updates carry their ids). */
  idempotent: boolean;
  setup(ctx: OperationContext): Promise<Session>;
}
