/**
 * The run's summary: the numbers (RunSummary, also the `--json` output, schema in docs/summary.schema.json),
 * the human text for stderr, the Markdown for $GITHUB_STEP_SUMMARY, and failures grouped by cause.
 */
import * as fs from 'node:fs';
import type { RowOutcome } from '../core/types.js';
import { painter } from '../ui/color.js';

export interface ErrorGroup {
  error_code?: string | number;
  /** The first message seen for this cause (an example; the others differ only in values). */
  error: string;
  count: number;
  /** The first 5 rows with this cause. */
  rows: number[];
}

/** Distinct causes kept; more than this (messages that do not normalise well) are counted as one "other" group. */
const MAX_GROUPS = 1000;
const ROWS_KEPT = 5;
const OTHER = '(other errors)';
/** Groups the pipeline puts in a summary (RunSummary.groups); more are in the report. */
export const GROUPS_SHOWN = 10;

/**
 * The shape of a message without its values, so rows failing for the same reason group together:
 * `[bk_asset_id: SW-1] duplicated` and `[bk_asset_id: SW-2] duplicated` → `[bk_asset_id: …] duplicated`.
 */
export function normaliseMessage(msg: string): string {
  return msg
    .replace(/\[([\w.$-]+)\s*:[^\]]*\]/g, '[$1: …]') // CMDB's "[field: value]"
    .replace(/'[^']*'|"[^"]*"|`[^`]*`|“[^”]*”|‘[^’]*’/g, '"…"') // quoted values
    .replace(/\b([\w.-]+)=(?:"[^"]*"|[^\s,;)]+)/g, '$1=…') // key=value
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '#') // uuids
    .replace(/\d+(?:\.\d+)?/g, '#') // numbers, ids, row and line numbers
    .replace(/\s+/g, ' ')
    .trim();
}

export class ErrorGroups {
  private readonly groups = new Map<string, ErrorGroup>();

  /**
   * Counts a row that is not ok and carries an error; ignores the rest. The pipeline's recorder does not add the
   * rows it never tried because the whole run stopped (src/pipeline/recorder.ts, `stopped`): they are not a cause
   * of their own — the summary's error says once why the run stopped, and they would crowd out the causes a person
   * has to fix.
   */
  add(o: RowOutcome): void {
    if (o.status === 'ok' || !o.error) return;
    const error = o.error ?? '(no message)';
    const key = `${o.error_code ?? ''}\u0000${normaliseMessage(error)}`;
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= MAX_GROUPS) {
        g = this.groups.get(OTHER);
        if (!g) this.groups.set(OTHER, (g = { error: OTHER, count: 0, rows: [] }));
      } else {
        g = o.error_code !== undefined ? { error_code: o.error_code, error, count: 0, rows: [] } : { error, count: 0, rows: [] };
        this.groups.set(key, g);
      }
    }
    g.count++;
    if (g.rows.length < ROWS_KEPT) g.rows.push(o.row);
  }

  /** Largest groups first (ties: the group whose first row comes first). */
  list(limit?: number): ErrorGroup[] {
    const all = [...this.groups.values()].sort((a, b) => b.count - a.count || (a.rows[0] ?? 0) - (b.rows[0] ?? 0));
    return (limit === undefined ? all : all.slice(0, limit)).map((g) => ({ ...g, rows: [...g.rows] }));
  }
}

/** sync's --json `plan`: rows by action (delete: instances --prune removes). */
export interface SyncPlan {
  create: number;
  update: number;
  unchanged: number;
  delete: number;
  conflict: number;
}

export interface RunSummary {
  command: string;
  total: number;
  ok: number;
  failed: number;
  invalid: number;
  unsent: number;
  /** Rows already as the file says, nothing sent (sync); success. */
  unchanged?: number;
  /** sync --prune (apaas-sync --prune): instances (records) the file does not name, and what became of them. */
  pruned?: { candidates: number; deleted: number; kept: number; refused?: string; report?: string };
  /** sync, apaas-sync: the plan file written (--plan-only / --plan). */
  plan_file?: string;
  requests: number;
  retries: number;
  duration_ms: number;
  report: string | null;
  /** Dry run: the plan it wrote; sync: the rows by what its plan does with them (the contract's `plan` object). */
  plan?: string | null | SyncPlan;
  exit_code: number;
  dry_run?: boolean;
  splits?: number;
  rate_limited?: number;
  rate_limit_wait_ms?: number;
  already_existed?: number;
  outcome_unknown?: number;
  resumed_ok?: number;
  /** CSV rows whose cells were all empty: skipped, not counted in total. */
  empty_rows?: number;
  batches?: number;
  failed_file?: string | null;
  /** Rows refused because their unique value exists already (or, in a dry run, repeats an earlier row's). */
  duplicates?: number;
  /** The unique field rows were checked by. */
  key?: string;
  /** Set for usage errors / fatal errors / interruption. */
  error?: string | null;
  groups?: ErrorGroup[];
}

/** 1234567 → "1,234,567". */
export function fmtInt(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 850 → "850 ms", 12345 → "12.3 s", 245000 → "4 min 5 s", 3720000 → "1 h 2 min". */
export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${fmtInt(n)} ${n === 1 ? word : many}`;
}

function oneLine(s: string, max = 160): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function rowsText(g: ErrorGroup): string {
  const more = g.count > g.rows.length ? ', …' : '';
  return `(${g.rows.length === 1 && g.count === 1 ? 'row' : 'rows'} ${g.rows.join(', ')}${more})`;
}

/** Human summary for stderr. */
export function formatSummary(s: RunSummary, opts: { color: boolean }): string {
  const p = painter(opts.color);
  const lines: string[] = [];
  const head = s.dry_run ? `${s.command} (dry run, nothing sent)` : s.command;
  lines.push(`${p.bold(head)}: ${plural(s.total, 'row')} in ${fmtDuration(s.duration_ms)}`);

  const counts = s.dry_run
    ? // A dry run sends nothing: its unsent rows are the rows that passed every check.
      [
        s.unsent > 0 ? p.ok(`${fmtInt(s.unsent)} ready to send`) : '0 ready to send',
        ...(s.unchanged ? [`${fmtInt(s.unchanged)} unchanged`] : []),
        s.invalid > 0 ? p.warn(`${fmtInt(s.invalid)} invalid`) : '0 invalid',
        ...(s.ok > 0 ? [`${fmtInt(s.ok)} already ok in the earlier report`] : []),
        ...(s.failed > 0 ? [`${fmtInt(s.failed)} failed in the earlier report`] : []),
      ]
    : [
        s.ok > 0 ? p.ok(`${fmtInt(s.ok)} ok`) : `${fmtInt(s.ok)} ok`,
        ...(s.unchanged ? [p.ok(`${fmtInt(s.unchanged)} unchanged`)] : []),
        s.failed > 0 ? p.fail(`${fmtInt(s.failed)} failed`) : `${fmtInt(s.failed)} failed`,
        s.invalid > 0 ? p.warn(`${fmtInt(s.invalid)} invalid`) : `${fmtInt(s.invalid)} invalid`,
        s.unsent > 0 ? p.warn(`${fmtInt(s.unsent)} unsent`) : `${fmtInt(s.unsent)} unsent`,
      ];
  lines.push(`  ${counts.join(' · ')}`);

  const extra = [plural(s.requests, 'request'), plural(s.retries, 'retry', 'retries')];
  if (s.batches !== undefined) extra.push(s.dry_run ? `${plural(s.batches, 'batch', 'batches')} planned` : plural(s.batches, 'batch', 'batches'));
  if (s.splits) extra.push(`${plural(s.splits, 'batch', 'batches')} split to isolate bad rows`);
  if (s.rate_limited) {
    const wait = s.rate_limit_wait_ms ? `, waited ${fmtDuration(s.rate_limit_wait_ms)}` : '';
    extra.push(`${plural(s.rate_limited, 'rate-limit answer')} (429${wait})`);
  }
  if (s.already_existed) extra.push(`${plural(s.already_existed, 'row')} already existed`);
  if (s.outcome_unknown) extra.push(`${plural(s.outcome_unknown, 'row')} with an unknown outcome (not sent again: check them, or --resume)`);
  lines.push(p.dim(`  ${extra.join(', ')}`));

  if (s.plan_file) lines.push(`  plan: ${s.plan_file}`);
  if (s.pruned) lines.push(pruneLine(s.pruned, !!s.dry_run, s.command === 'apaas-sync' ? 'record' : 'instance'));
  if (s.report) lines.push(`  report: ${s.report}`);
  if (typeof s.plan === 'string') lines.push(`  plan: ${s.plan} (nothing was sent; not a report)`);
  if (s.failed_file) lines.push(`  failed rows: ${s.failed_file}`);
  if (s.error) {
    // Keep the message's own lines (a list of missing settings, a hint): indented under "error:", at most 12.
    const msg = s.error.split('\n').map((l) => oneLine(l, 400)).filter(Boolean);
    const shown = msg.length > 12 ? [...msg.slice(0, 11), `… (${msg.length - 11} more lines)`] : msg;
    lines.push(...shown.map((l, i) => p.fail(i === 0 ? `  error: ${l}` : `    ${l}`)));
  }

  const groups = s.groups ?? [];
  if (groups.length > 0) {
    lines.push('', 'Failures by cause:');
    const width = Math.max(...groups.map((g) => plural(g.count, 'row').length));
    for (const g of groups) {
      // The code in front, unless the message already starts with it.
      const code = g.error_code !== undefined && !g.error.startsWith(`[${g.error_code}]`) ? `[${g.error_code}] ` : '';
      lines.push(`  ${plural(g.count, 'row').padStart(width)}  ${code}${oneLine(g.error)}  ${p.dim(rowsText(g))}`);
    }
    // The pipeline keeps the largest GROUPS_SHOWN causes; rows of the others are only in the report.
    const shown = groups.reduce((n, g) => n + g.count, 0);
    const grouped = s.failed + s.invalid;
    if (groups.length >= GROUPS_SHOWN && shown < grouped) lines.push(p.dim(`  (${fmtInt(grouped - shown)} more rows with other causes: see the report)`));
  }

  const hint = nextStep(s);
  if (hint) lines.push('', p.dim(hint));
  return lines.join('\n') + '\n';
}

/** What to do next, or '' when every row is ok. Every line is safe to follow as it is: nothing applied twice. */
function nextStep(s: RunSummary): string {
  if (s.total === 0 && !s.error) return 'Nothing to do: the input has no rows.';
  if (s.dry_run && s.plan_file) {
    const apply = `cmdb-bulk ${s.command === 'apaas-sync' ? 'apaas-sync' : 'sync'} --apply ${shellWord(s.plan_file)}`;
    if (s.exit_code !== 0) return '';
    return s.invalid === 0 ? `Check the plan, then apply it: ${apply}` : `Fix the invalid rows and plan again, or apply the plan without them: ${apply} --skip-invalid`;
  }
  if (s.dry_run) {
    if (s.invalid === 0) return s.unsent > 0 ? 'Every row passed the checks: run again without --dry-run to send them.' : '';
    return s.exit_code === 0
      ? 'Fix the invalid rows (see the plan), or run again without --dry-run to send the valid ones (--skip-invalid).'
      : 'Fix the invalid rows (see the plan), then run again without --dry-run.';
  }
  if (s.failed + s.invalid + s.unsent === 0) {
    // A re-run of a file already loaded (associate): say plainly that it changed nothing.
    if (s.pruned?.refused && s.pruned.candidates > 0) return '';
    if (s.ok === 0 && s.unchanged) return `Nothing to change: ${s.unchanged === 1 ? 'the row is' : `all ${fmtInt(s.unchanged)} rows are`} already as the file says; nothing was sent.`;
    return s.ok > 0 && s.already_existed === s.ok ? `Nothing changed: ${s.ok === 1 ? 'the row' : `all ${fmtInt(s.ok)} rows`} already existed on the server.` : '';
  }
  if (s.exit_code === 2 && s.invalid > 0 && s.ok + s.failed === 0) {
    const fix = s.failed_file ? `fix the invalid rows in ${s.failed_file} and load that file (it has every row)` : 'fix the invalid rows (see the report)';
    return `Nothing was sent. Next: ${fix[0]!.toUpperCase()}${fix.slice(1)}, or send the valid ones with --skip-invalid.`;
  }
  const report = s.report && s.report !== '-' ? s.report : undefined;
  // Settings or credentials refused: nothing will land until they are fixed.
  if (s.exit_code === 4) {
    const then = report && s.unsent > 0 ? `, then finish the run with --resume ${report}` : ', then run again';
    return `Next: Fix the settings or credentials (cmdb-bulk config check shows what is in effect and tries them)${then}.`;
  }
  const lines: string[] = [];
  const unknown = s.outcome_unknown ?? 0;
  const dups = s.duplicates ?? 0;
  // Rows that may have been applied are never offered for a blind re-load: --resume looks them up first.
  if (unknown > 0) {
    lines.push(report
      ? `${plural(unknown, 'row')} may have been applied (outcome unknown): --resume ${report} looks ${unknown === 1 ? 'it' : 'them'} up on the server before sending anything.`
      : `${plural(unknown, 'row')} may have been applied (outcome unknown): check ${unknown === 1 ? 'it' : 'them'} on the server before loading ${unknown === 1 ? 'it' : 'them'} again.`);
  }
  if (dups > 0) lines.push(duplicateAdvice(s, dups));
  // Rows the tool refuses to do (revert of a created host): a retry would refuse them again.
  const unsupported = (s.groups ?? []).filter((g) => g.error_code === 'not_supported').reduce((n, g) => n + g.count, 0);
  if (unsupported > 0) lines.push(`${plural(unsupported, 'row')} cannot be done by cmdb-bulk: the error says what to do in CMDB itself.`);
  const ways: string[] = [];
  // Interrupted or server gone: the same run can be finished.
  if (report && (s.exit_code === 130 || s.exit_code === 5) && s.unsent > 0) ways.push(`finish the run with --resume ${report}`);
  const others = s.failed - dups - unknown - unsupported;
  if (s.failed_file) {
    if (others + s.invalid + s.unsent > 0) ways.push(`fix the rows in ${s.failed_file} and load that file${unknown > 0 ? ' (the rows with an unknown outcome are not in it)' : ''}`);
  } else if (s.invalid > 0) ways.push('fix the invalid rows (--failed <file> writes the rows to fix, ready to load again)');
  if (report && others + s.unsent > 0 && ways.length < 2) ways.push(`send the failed and unsent rows again with --retry-failed ${report}${dups > 0 ? ' (the rows that already exist would fail again)' : ''}`);
  if (ways.length > 0) {
    const text = ways.join(', or ');
    lines.push(`${text[0]!.toUpperCase()}${text.slice(1)}.`);
  }
  if (lines.length === 0) return 'Fix the rows that are not ok and run again.';
  return `Next: ${lines.join('\n      ')}`;
}

/** A create run twice: the rows exist; what changes them is an update by the key, or sync — never a retry. */
function duplicateAdvice(s: RunSummary, n: number): string {
  const key = s.key ? ` --key ${s.key}` : ' --key <the unique field>';
  const how = s.command === 'apaas-create' ? `apaas-update …${key} (or apaas-sync …${key})` : `update-inst …${key} (or sync …${key})`;
  return `${plural(n, 'row')} already exist${n === 1 ? 's' : ''} on the server (a unique value is taken): to give ${n === 1 ? 'it' : 'them'} the file's values use ${how} with the same file; --retry-failed would fail the same way.`;
}

function mdCell(v: unknown): string {
  return oneLine(String(v ?? ''), 300)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|');
}

/** Markdown for a CI job summary: heading, counts table, failures table. */
export function markdownSummary(s: RunSummary): string {
  const out: string[] = [];
  if (s.dry_run) {
    out.push(`### cmdb-bulk ${mdCell(s.command)} (dry run, nothing sent): ${fmtInt(s.unsent)} of ${fmtInt(s.total)} rows ready to send`, '');
  } else {
    out.push(`### cmdb-bulk ${mdCell(s.command)}: ${fmtInt(s.ok)} of ${fmtInt(s.total)} rows ok`, '');
  }
  out.push('| status | rows |', '|---|---:|');
  out.push(`| ok | ${fmtInt(s.ok)} |`, `| failed | ${fmtInt(s.failed)} |`);
  out.push(`| invalid | ${fmtInt(s.invalid)} |`, `| unsent${s.dry_run ? ' (ready to send)' : ''} | ${fmtInt(s.unsent)} |`, '');
  const facts = [
    `${plural(s.requests, 'request')}`,
    `${plural(s.retries, 'retry', 'retries')}`,
    fmtDuration(s.duration_ms),
    `exit code ${s.exit_code}`,
  ];
  out.push(facts.join(' · '));
  if (s.report) out.push('', `Report: \`${s.report.replace(/`/g, "'")}\``);
  if (s.error) out.push('', `**Error:** ${mdCell(s.error)}`);
  const groups = s.groups ?? [];
  if (groups.length > 0) {
    out.push('', '#### Failures by cause', '', '| rows | code | error | first rows |', '|---:|---|---|---|');
    for (const g of groups) {
      out.push(`| ${fmtInt(g.count)} | ${mdCell(g.error_code ?? '')} | ${mdCell(g.error)} | ${g.rows.join(', ')}${g.count > g.rows.length ? ', …' : ''} |`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * Appends the Markdown summary to $GITHUB_STEP_SUMMARY when it is set. A summary that cannot be written
 * must not change the run's outcome, so a write error is ignored.
 */
export function appendStepSummary(s: RunSummary, env: NodeJS.ProcessEnv = process.env): void {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    fs.appendFileSync(file, markdownSummary(s) + '\n');
  } catch {
    // ignored on purpose, see above
  }
}

/** A path as one shell word (quoted when it has anything but safe characters). */
function shellWord(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** "  prune: 3 instances not in the file: 2 deleted, 1 kept (associations) — <report>" */
function pruneLine(p: NonNullable<RunSummary['pruned']>, dryRun: boolean, noun: 'instance' | 'record'): string {
  const head = `  prune: ${plural(p.candidates, noun)} not in the file`;
  if (dryRun) return `${head} (would be deleted)`;
  if (p.refused) return `${head}: ${p.refused}`;
  return `${head}: ${fmtInt(p.deleted)} deleted${p.kept ? `, ${fmtInt(p.kept)} not deleted (see ${p.report ?? 'the prune report'})` : ''}${p.report ? ` — ${p.report}` : ''}`;
}
