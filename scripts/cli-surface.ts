/**
 * The CLI surface, made from the command manifests: `command-snapshot.json` (every command, flag, choice,
 * range and default, one line per flag, so any change shows in review) and the options tables of docs/cli.md.
 * test/unit/cli-surface.test.ts fails when either differs from the manifests.
 *
 *   npm run cli-surface     # after changing a flag: rewrite both, then review the diff
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { longName, rangeWords, takesValue, type AnyFlag } from '../src/cli/flags.js';
import { commands } from '../src/cli/manifests/index.js';
import type { CommandManifest, OperationManifest } from '../src/cli/manifests/manifest.js';
import type { FlagGroup } from '../src/cli/manifests/shared.js';

export const SNAPSHOT = fileURLToPath(new URL('../command-snapshot.json', import.meta.url));
export const CLI_DOC = fileURLToPath(new URL('../docs/cli.md', import.meta.url));
const BEGIN = '<!-- options: made by scripts/cli-surface.ts from src/cli/manifests; do not edit by hand -->';
const END = '<!-- options: end -->';

const isOperation = (m: CommandManifest): m is OperationManifest => 'api' in m;

/** The flags named by a flag's `conflicts` (keys of its set), as typed. */
function conflictNames(f: AnyFlag, set: Readonly<Record<string, AnyFlag>>): string[] {
  return (f.conflicts ?? []).map((k) => (set[k] ? longName(set[k]) : k));
}

/** One flag in one line: kind, allowed values, default, required, conflicts. */
function describeFlag(f: AnyFlag, set: Readonly<Record<string, AnyFlag>>): string {
  const parts: string[] = [f.kind];
  if (f.choices) parts.push(f.choices.join('|'));
  const range = rangeWords(f);
  if (range) parts.push(range);
  if (f.required) parts.push('required');
  if (f.default !== undefined) parts.push(`default ${JSON.stringify(f.default)}`);
  else if (f.defaultText) parts.push(`default: ${f.defaultText}`);
  if (f.conflicts?.length) parts.push(`not with ${conflictNames(f, set).join(', ')}`);
  return parts.join(', ');
}

function flagLines(flags: Readonly<Record<string, AnyFlag>>): Record<string, string> {
  return Object.fromEntries(Object.values(flags).map((f) => [f.flags, describeFlag(f, flags)]));
}

/** The surface as data: per command its arguments, API and limits, and every flag it takes. */
export function surface(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of commands) {
    const flags: Record<string, string> = flagLines(m.own);
    for (const g of m.groups) Object.assign(flags, flagLines(g.flags));
    out[[m.name, ...m.args.map((a) => a.spec)].join(' ')] = {
      ...(isOperation(m) ? { api: m.api, service: m.service, batch: m.maxBatch === null ? `no limit, default ${m.defaultBatch}` : `at most ${m.maxBatch}, default ${m.defaultBatch}` } : {}),
      flags,
    };
  }
  return out;
}

export function snapshotText(): string {
  return JSON.stringify(surface(), null, 2) + '\n';
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function valueWords(f: AnyFlag): string {
  if (!takesValue(f)) return '';
  if (f.choices) return f.choices.map((c) => `\`${c}\``).join(', ');
  return rangeWords(f) ?? '';
}

function defaultWords(f: AnyFlag): string {
  if (f.default !== undefined) return `\`${String(f.default)}\``;
  return f.defaultText ?? (f.required ? '**required**' : '');
}

/** `varies`: keys of flags whose values or default differ between commands (said in the command table). */
function table(flags: Readonly<Record<string, AnyFlag>>, varies: Readonly<Set<string>> = new Set()): string {
  const rows = Object.entries(flags).map(([key, f]) => {
    const values = varies.has(key) ? 'per command (above)' : valueWords(f);
    const dflt = varies.has(key) ? 'per command (above)' : defaultWords(f);
    const not = f.conflicts?.length ? ` (not with ${conflictNames(f, flags).map((n) => `\`${n}\``).join(', ')})` : '';
    return `| \`${cell(f.flags)}\` | ${cell(values)} | ${cell(dflt)} | ${cell(f.help)}${not} |`;
  });
  return ['| option | values | default | what it does |', '|---|---|---|---|', ...rows].join('\n');
}

/** Each shared group once (by title), with the keys of its flags that differ between the commands taking it. */
function sharedGroups(): { group: FlagGroup; varies: Set<string> }[] {
  const byTitle = new Map<string, { group: FlagGroup; varies: Set<string> }>();
  for (const m of commands) {
    for (const g of m.groups) {
      const seen = byTitle.get(g.title);
      if (!seen) {
        byTitle.set(g.title, { group: g, varies: new Set() });
        continue;
      }
      for (const [key, f] of Object.entries(g.flags)) {
        if (describeFlag(f, g.flags) !== describeFlag(seen.group.flags[key]!, seen.group.flags)) seen.varies.add(key);
      }
    }
  }
  return [...byTitle.values()];
}

const batchWords = (m: OperationManifest) => (m.maxBatch === null ? `no limit (default ${m.defaultBatch})` : `1 to ${m.maxBatch} (default ${m.defaultBatch})`);

/** The generated part of docs/cli.md: which groups each command takes, each group once, each command's own. */
export function optionsMarkdown(): string {
  const parts: string[] = [BEGIN, ''];
  parts.push('| command | its own options | shared groups | API | `--batch-size` |', '|---|---|---|---|---|');
  for (const m of commands) {
    const own = Object.values(m.own).map((f) => `\`${longName(f)}\``).join(' ') || '—';
    const api = isOperation(m) ? `\`${m.api}\`` : '';
    parts.push(`| \`${m.name}\` | ${own} | ${m.groups.map((g) => g.title).join(', ') || '—'} | ${api} | ${isOperation(m) ? batchWords(m) : ''} |`);
  }
  parts.push('');
  for (const { group, varies } of sharedGroups()) parts.push(`### ${group.title} options`, '', table(group.flags, varies), '');
  for (const m of commands) {
    if (Object.keys(m.own).length) parts.push(`### \`${m.name}\` options`, '', table(m.own), '');
  }
  parts.push(END);
  return parts.join('\n');
}

/** docs/cli.md with its options section replaced by `section`. */
export function withOptions(doc: string, section: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/cli.md has no options section (${BEGIN} … ${END})`);
  return doc.slice(0, a) + section + doc.slice(b + END.length);
}

export function currentOptionsSection(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  return a < 0 || b < a ? '' : doc.slice(a, b + END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  writeFileSync(SNAPSHOT, snapshotText());
  writeFileSync(CLI_DOC, withOptions(readFileSync(CLI_DOC, 'utf8'), optionsMarkdown()));
  process.stdout.write(`wrote ${SNAPSHOT} and the options tables of ${CLI_DOC}\n`);
}
