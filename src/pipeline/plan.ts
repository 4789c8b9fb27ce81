/**
 * The plan: how many rows are valid and invalid, how they group into batches, and the first problems; a dry run
 * prints it. A run that sends counts it in pass 1 (check every row, send nothing); a dry run counts it while it
 * writes the rows' plan, in its one pass (run.ts).
 */
import type { InputSource } from '../input/index.js';
import type { Operation, Session } from '../operations/types.js';
import { joinErrors } from '../schema/rows.js';
import type { Resume } from './resume.js';
import { checkedRows, type RowItem } from './rows.js';

const MAX_LISTED_PROBLEMS = 20;

export interface Plan {
  total: number;
  invalid: number;
  valid: number;
  skipped: number;
  problems: Array<{ row: number; message: string }>;
  groups: Map<string, number>;
  /** The CSV header, or the keys seen in the first JSON records. */
  columns: string[];
  /** Rows by their `action` (sync: create / update / unchanged / conflict / invalid); empty for other commands. */
  actions: Map<string, number>;
  /** Fields the `update` rows change, in all. */
  changedFields: number;
}

/** A plan with nothing counted yet. */
export function emptyPlan(source: InputSource): Plan {
  return { total: 0, invalid: 0, valid: 0, skipped: 0, problems: [], groups: new Map(), columns: source.columns ?? [], actions: new Map(), changedFields: 0 };
}

/**
 * The keys of JSON records, in the order first seen, up to about `limit`. Records of one file usually have the same
 * keys in the same order: a record is compared with the one before, key by key, and only a key where they part is
 * looked up (a Set look-up per key of every row cost ~0.15 µs a row; docs/performance.md, issue 16 §2).
 */
class KeysSeen {
  readonly keys = new Set<string>();
  private last: string[] = [];

  constructor(private readonly limit: number) {}

  add(values: Record<string, unknown>): void {
    if (this.keys.size >= this.limit) return;
    const last = this.last;
    let i = 0;
    let same = true;
    for (const k in values) {
      if (same && last[i] !== k) same = false;
      if (!same) this.keys.add(k);
      i++;
    }
    if (!same || i !== last.length) this.last = Object.keys(values);
  }
}

/**
 * The rows, passed on unchanged, each chunk counted into `plan` first. For JSON input the plan's columns are the
 * keys seen (up to 1,000 distinct), set when the rows end.
 */
export async function* tallied(plan: Plan, rows: AsyncIterable<RowItem[]>, source: InputSource): AsyncGenerator<RowItem[]> {
  const seen = source.columns ? null : new KeysSeen(1000);
  for await (const chunk of rows) {
    for (const { rec, checked: r } of chunk) {
      plan.total++;
      if (seen) seen.add(rec.values);
      if (r?.action !== undefined) {
        plan.actions.set(r.action, (plan.actions.get(r.action) ?? 0) + 1);
        if (r.action === 'update' && r.before) plan.changedFields += Object.keys(r.before).length;
      }
      if (!r) plan.skipped++;
      else if (r.errors.length) {
        plan.invalid++;
        if (plan.problems.length < MAX_LISTED_PROBLEMS) plan.problems.push({ row: r.row, message: joinErrors(r.errors) });
      } else {
        plan.valid++;
        if (!r.settled) plan.groups.set(r.group, (plan.groups.get(r.group) ?? 0) + 1);
      }
    }
    yield chunk;
  }
  if (seen) plan.columns = [...seen.keys];
}

/** Pass 1 of a run that sends: every row read and checked, counted into the plan, nothing else kept. */
export async function checkAll(source: InputSource, session: Session, resume: Resume, stop: AbortSignal): Promise<Plan> {
  const plan = emptyPlan(source);
  const rows = checkedRows(source, session, { skip: (rec) => resume.skip(rec), resolve: () => true, stop });
  for await (const chunk of tallied(plan, rows, source)) void chunk; // counted as it passes
  return plan;
}

export function invalidMessage(source: InputSource, plan: Plan): string {
  const lines = plan.problems.map((p) => `  row ${p.row}: ${p.message}`);
  const more = plan.invalid - plan.problems.length;
  return [
    `${source.file}: ${plan.invalid} of ${plan.total} rows are invalid; nothing was sent.`,
    ...lines,
    ...(more > 0 ? [`  … and ${more} more (every problem is in the report)`] : []),
    'Fix the rows, or use --skip-invalid to send the valid rows and report the others.',
  ].join('\n');
}

export function plannedBatches(plan: Plan, batchSize: number): number {
  return [...plan.groups.values()].reduce((n, rows) => n + Math.ceil(rows / batchSize), 0);
}

export function describePlan(op: Operation, session: Session, plan: Plan, batchSize: number, concurrency: number | undefined): string[] {
  const batches = plannedBatches(plan, batchSize);
  const lines = [
    `dry run: ${op.command} (${op.api}), nothing sent`,
    `  rows: ${plan.total} read, ${plan.valid} valid, ${plan.invalid} invalid${plan.skipped ? `, ${plan.skipped} skipped (already done in the earlier report)` : ''}`,
    `  batches: ${batches} of up to ${batchSize} rows, ${concurrency ? `at most ${concurrency} at a time` : 'as many at a time as the rate limit and the round trip need'}${op.atomic ? ' (all-or-nothing on the server)' : ''}`,
  ];
  if (plan.groups.size > 1 || [...plan.groups.keys()][0]) {
    for (const [g, n] of plan.groups) lines.push(`    ${g || '(default)'}: ${n} rows in ${Math.ceil(n / batchSize)} batch(es)`);
  }
  for (const l of session.describe?.() ?? []) lines.push(`  ${l}`);
  return lines;
}

/** "12 to create, 30 to update (45 fields), 958 unchanged, 3 to delete, 2 conflicts, 1 invalid" — a sync's or a revert's plan in words. */
export function actionTotals(plan: Plan): string {
  const n = (a: string) => plan.actions.get(a) ?? 0;
  const parts = [`${n('create')} to create`, `${n('update')} to update (${plan.changedFields} field${plan.changedFields === 1 ? '' : 's'})`, `${n('unchanged')} unchanged`];
  if (n('delete')) parts.push(`${n('delete')} to delete`);
  if (n('conflict')) parts.push(`${n('conflict')} conflict${n('conflict') === 1 ? '' : 's'}`);
  if (n('invalid')) parts.push(`${n('invalid')} invalid`);
  return parts.join(', ');
}
