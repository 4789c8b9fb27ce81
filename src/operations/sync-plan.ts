/**
 * The plan of a sync (`--plan-only --plan <path>`): NDJSON, one line per input row, in input order, each line whole
 * on its own (model, key, action, the instance's id, the changed fields' values before and after), so that a plan
 * can be read, filtered (grep, jq) and applied with `sync --apply <plan>`. Format: docs/sync.md.
 *
 * apaas-sync writes and reads the same plan; its lines also carry `namespace` (that is what tells the two apart),
 * and its ids are aPaaS record ids (text).
 */
import { appendFileSync, closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { joinErrors } from '../schema/rows.js';
import type { CheckedRow } from './types.js';

export const PLAN_ACTIONS = ['create', 'update', 'unchanged', 'conflict', 'invalid'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlanLine {
  row: number;
  action: PlanAction;
  obj: string;
  key: string;
  /** apaas-sync: the application namespace (`obj` is then the object's API name). */
  namespace?: string;
  /** The row's key value. */
  value?: string | number;
  /** The instance (update, unchanged): a CMDB id (number), an aPaaS record id (text). */
  id?: number | string;
  /** update: the changed fields' values on the server when the plan was made. */
  before?: Record<string, unknown>;
  /** create: every field of the new instance; update: the changed fields' new values. */
  after?: Record<string, unknown>;
  /** conflict, invalid: why. */
  error?: string;
}

/** Where an update row keeps its target and its new values (sync: `inst_id` and `datas`; apaas-sync: `_id`). */
export interface PlanForm {
  namespace?: string;
  update(r: CheckedRow): { id: number | string; after: Record<string, unknown> };
}

const CMDB_FORM: PlanForm = { update: (r) => ({ id: r.payload.inst_id as number, after: r.payload.datas as Record<string, unknown> }) };

/** Writes each row's line once (the first time it is classified: pass 1), a chunk at a time. */
export class PlanWriter {
  private last = 0;
  constructor(
    private readonly path: string,
    private readonly obj: string,
    private readonly key: string,
    private readonly form: PlanForm = CMDB_FORM,
  ) {
    try {
      writeFileSync(path, '', { flag: 'w' });
    } catch (e) {
      throw new UsageError(`cannot write the plan ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check that the folder exists and is writable, or choose another path with --plan');
    }
  }

  write(rows: CheckedRow[], key: string): void {
    let text = '';
    for (const r of rows) {
      if (r.row <= this.last) continue;
      this.last = r.row;
      text += JSON.stringify(this.line(r, key)) + '\n';
    }
    if (text) appendFileSync(this.path, text);
  }

  private line(r: CheckedRow, key: string): PlanLine {
    const ns = this.form.namespace;
    const base = { row: r.row, ...(ns ? { namespace: ns } : {}), obj: this.obj, key: this.key };
    const action = (r.action ?? 'invalid') as PlanAction;
    const value = r.payload[key] as string | number | undefined;
    if (r.errors.length || action === 'invalid') return { ...base, action: 'invalid', value, error: joinErrors(r.errors) };
    if (action === 'conflict') return { ...base, action, value, error: r.settled?.error };
    if (action === 'unchanged') return { ...base, action, value, id: r.settled?.id };
    if (action === 'update') return { ...base, action, value, ...this.form.update(r), before: r.before };
    return { ...base, action: 'create', value, after: r.payload };
  }
}

/** A plan line read back, checked: it must be a line of a plan for this model (aPaaS: namespace and object) and key. */
export function readPlanLine(v: Record<string, unknown>, obj: string, key: string, namespace?: string): { line?: PlanLine; error?: string } {
  const of = (ns: unknown, o: unknown) => (ns === undefined ? String(o) : `${String(ns)}/${String(o)}`);
  if (v.obj !== obj || v.key !== key || v.namespace !== namespace) return { error: `this line is a plan for ${of(v.namespace, v.obj)} by ${String(v.key)}, not ${of(namespace, obj)} by ${key} (the first line decides)` };
  if (!PLAN_ACTIONS.includes(v.action as PlanAction)) return { error: `action must be one of ${PLAN_ACTIONS.join(', ')}, got ${JSON.stringify(v.action)}` };
  const line = v as unknown as PlanLine;
  if ((line.action === 'create' || line.action === 'update') && (typeof line.after !== 'object' || line.after === null)) return { error: `a ${line.action} line needs "after" (the values to write)` };
  const idOk = typeof line.id === 'number' || (namespace !== undefined && typeof line.id === 'string' && line.id !== '');
  if (line.action === 'update' && (!idOk || typeof line.before !== 'object' || line.before === null)) return { error: 'an update line needs "id" and "before" (the values the plan saw)' };
  if ((line.action === 'create' || line.action === 'update') && (line.value === undefined || line.value === null || line.value === '')) return { error: `a ${line.action} line needs "value" (its ${key})` };
  return { line };
}

/** The model (aPaaS: namespace and object) and key a plan is for: from its first line. */
export function planTarget(firstLine: string, path: string): { obj: string; key: string; namespace?: string } {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(firstLine) as Record<string, unknown>;
  } catch {
    throw new UsageError(`${path} is not a sync plan: its first line is not JSON`, 'write a plan with: cmdb-bulk sync <file> --obj <id> --key <field> --plan-only --plan <path>');
  }
  if (typeof v?.obj !== 'string' || typeof v.key !== 'string') throw new UsageError(`${path} is not a sync plan: its first line has no "obj" and "key"`, 'write a plan with: cmdb-bulk sync <file> --obj <id> --key <field> --plan-only --plan <path>');
  return { obj: v.obj, key: v.key, ...(typeof v.namespace === 'string' ? { namespace: v.namespace } : {}) };
}

/** The first line of a file (at most 64 KB), for planTarget. */
export function readFirstLine(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageError(`cannot read the plan ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path');
  }
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
  } finally {
    closeSync(fd);
  }
}
