/**
 * The plan of a sync (`--plan-only --plan <path>`): NDJSON, one line per input row, in input order, each line whole
 * on its own (model, key, action, the instance's id, the changed fields' values before and after), so that a plan
 * can be read, filtered (grep, jq) and applied with `sync --apply <plan>`. Format: docs/sync.md.
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
  /** The row's key value. */
  value?: string | number;
  /** The instance (update, unchanged). */
  id?: number;
  /** update: the changed fields' values on the server when the plan was made. */
  before?: Record<string, unknown>;
  /** create: every field of the new instance; update: the changed fields' new values. */
  after?: Record<string, unknown>;
  /** conflict, invalid: why. */
  error?: string;
}

/** Writes each row's line once (the first time it is classified: pass 1), a chunk at a time. */
export class PlanWriter {
  private last = 0;
  constructor(
    private readonly path: string,
    private readonly obj: string,
    private readonly key: string,
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
    const base = { row: r.row, obj: this.obj, key: this.key };
    const action = (r.action ?? 'invalid') as PlanAction;
    const value = r.payload[key] as string | number | undefined;
    if (r.errors.length || action === 'invalid') return { ...base, action: 'invalid', value, error: joinErrors(r.errors) };
    if (action === 'conflict') return { ...base, action, value, error: r.settled?.error };
    if (action === 'unchanged') return { ...base, action, value, id: r.settled?.id as number };
    if (action === 'update') return { ...base, action, value, id: r.payload.inst_id as number, before: r.before, after: r.payload.datas as Record<string, unknown> };
    return { ...base, action: 'create', value, after: r.payload };
  }
}

/** A plan line read back, checked: it must be a line of a plan for this model and key. */
export function readPlanLine(v: Record<string, unknown>, obj: string, key: string): { line?: PlanLine; error?: string } {
  if (v.obj !== obj || v.key !== key) return { error: `this line is a plan for ${String(v.obj)} by ${String(v.key)}, not ${obj} by ${key} (the first line decides)` };
  if (!PLAN_ACTIONS.includes(v.action as PlanAction)) return { error: `action must be one of ${PLAN_ACTIONS.join(', ')}, got ${JSON.stringify(v.action)}` };
  const line = v as unknown as PlanLine;
  if ((line.action === 'create' || line.action === 'update') && (typeof line.after !== 'object' || line.after === null)) return { error: `a ${line.action} line needs "after" (the values to write)` };
  if (line.action === 'update' && (typeof line.id !== 'number' || typeof line.before !== 'object' || line.before === null)) return { error: 'an update line needs "id" and "before" (the values the plan saw)' };
  if ((line.action === 'create' || line.action === 'update') && (line.value === undefined || line.value === null || line.value === '')) return { error: `a ${line.action} line needs "value" (its ${key})` };
  return { line };
}

/** The model and key a plan is for: from its first line. */
export function planTarget(firstLine: string, path: string): { obj: string; key: string } {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(firstLine) as Record<string, unknown>;
  } catch {
    throw new UsageError(`${path} is not a sync plan: its first line is not JSON`, 'write a plan with: cmdb-bulk sync <file> --obj <id> --key <field> --plan-only --plan <path>');
  }
  if (typeof v?.obj !== 'string' || typeof v.key !== 'string') throw new UsageError(`${path} is not a sync plan: its first line has no "obj" and "key"`, 'write a plan with: cmdb-bulk sync <file> --obj <id> --key <field> --plan-only --plan <path>');
  return { obj: v.obj, key: v.key };
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
