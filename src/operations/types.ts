/**
 * An operation describes itself to the pipeline: its command, its batch limits, whether the server applies a
 * batch all-or-nothing, what an unclear answer means for it, how to check a row, how to send a batch and read the
 * answer.
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
  /** For the report's `action` column: what is done to the row's target (sync: create / update / unchanged / conflict). */
  action?: string;
  /** For the report's `before` column: the values an update replaces (what `revert` puts back). */
  before?: Record<string, unknown>;
  /**
   * The row needs no request: its outcome is known already (sync: `unchanged`, or `failed` with error_code
   * `conflict` when the server's state refuses it). Recorded as it is, never batched.
   */
  settled?: { status: 'unchanged' | 'failed'; id?: string | number; error_code?: string; error?: string };
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
 * An operation's rule for an unclear answer. `resend`: sending the rows again is harmless (updates carry their ids
 * and values). `reconcile`: the rows may have been applied, so the pipeline asks the operation's `reconcile` what the
 * server holds now, and sends again only the rows certainly not applied (creates, deletes).
 */
export type UnclearRule = 'resend' | 'reconcile';

/**
 * What the server says about one row after an unclear answer. `applied`: a create's record exists (its `id`), a
 * delete's record is gone; `created`: the id belongs to one row only (a create), so a second row of the batch that
 * finds the same id was not applied. `not-applied`: certainly not (safe to send again). `unknown`: cannot tell, and
 * `why` says so in words a person can act on ("it has no serial_no to look it up by", "2 records have serial_no
 * "S-1"").
 */
export type Reconciled =
  | { state: 'applied'; id?: string | number; created?: boolean }
  | { state: 'not-applied' }
  | { state: 'unknown'; why: string };

/**
 * The operation's options: the flags each command declares as its own (src/cli/manifests/operations.ts), plus
 * two of the input's. Declared there once; a new flag there is typed here without a second list.
 */
export type OperationOptions = OperationFlagValues & {
  noSchema: boolean;
  empty: 'omit' | 'null';
  /** sync: the input is a plan written by --plan-only, applied as it is (rows whose server values moved fail). */
  applyPlan?: boolean;
};

export interface OperationContext {
  cmdb?: CmdbApi;
  feishu?: FeishuApi;
  options: OperationOptions;
  source: InputSource;
  /** Informational line for the user (stderr; silent with --quiet). */
  info(line: string): void;
  signal: AbortSignal;
  /** Asks the user a y/N question in a terminal; undefined when there is none (stdin or stderr is not a TTY). */
  ask?: (question: string) => Promise<boolean>;
}

export interface Session {
  /** Called once with the CSV header: unknown columns and the like (the pipeline checks `required`). Problems stop the run (exit 2). */
  checkColumns(columns: string[]): FieldError[];
  /** Checks one record that was read well (the pipeline reports records it could not read); sync and fast, it runs for every row in both passes. */
  check(rec: InputRecord): CheckedRow;
  /**
   * Optional checks that look at a chunk of checked rows together, in input order, before `resolve` (a dry run's
   * unique values repeated in the file); may add errors to rows.
   */
  checkTogether?(rows: CheckedRow[]): void;
  /** Optional look-ups for a chunk of checked rows (key → id resolution); may add errors to rows. */
  resolve?(rows: CheckedRow[]): Promise<void>;
  /** Sends one batch (rows without errors, one group) and reads the answer. Transport problems throw. */
  send(rows: CheckedRow[], signal: AbortSignal): Promise<BatchVerdict>;
  /**
   * With `unclear: 'reconcile'`: after a request ended without a clear answer, asks the server what became of these
   * rows (one entry per row, in order). Absent when there is nothing to look the rows up by (their outcome then
   * stays unknown). Throws when the server cannot be asked.
   */
  reconcile?(rows: CheckedRow[], signal: AbortSignal): Promise<Reconciled[]>;
  /**
   * Called after pass 1 when rows are about to be sent (not for --dry-run, nor for a file blocked by invalid rows):
   * the operation may show its totals and ask for confirmation; throwing (a UsageError) sends nothing.
   */
  confirm?(): Promise<void>;
  /** Lines describing the plan for --dry-run (what model, which key, ...). */
  describe?(): string[];
  /** What rows are looked up by after an unclear answer ("serial_no", "the pair of instances"), for messages. */
  readonly uniqueKey?: string;
  /**
   * What the run writes to, recorded in every row of the report (its `target` column) so that `revert <report>` needs
   * nothing else: the model (bk_obj_id) for the commands revert undoes (create-inst, update-inst, delete-inst, sync,
   * revert itself); unset for the others.
   */
  readonly target?: string;
  /** Columns every row must have, with why (checked on the header by the pipeline, before any row). */
  readonly required?: Array<{ column: string; why: string }>;
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
  /** What a request that ended without a clear answer (504 after the write, connection lost) means: see UnclearRule. */
  unclear: UnclearRule;
  setup(ctx: OperationContext): Promise<Session>;
}
