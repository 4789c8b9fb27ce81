/**
 * The CLI surface is pinned: command-snapshot.json and the options tables of docs/cli.md must be what the
 * manifests declare. A changed flag fails here until `npm run cli-surface` rewrites both,
 * so the change shows in review (as salesforcecli/plugin-data's command-snapshot.json does).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_DOC, currentOptionsSection, optionsMarkdown, SNAPSHOT, snapshotText, surface } from '../../scripts/cli-surface.js';

describe('CLI surface', () => {
  it('command-snapshot.json is what the manifests declare', () => {
    expect(JSON.parse(readFileSync(SNAPSHOT, 'utf8')), 'run: npm run cli-surface').toEqual(JSON.parse(snapshotText()));
  });

  it('docs/cli.md lists the options the manifests declare', () => {
    expect(currentOptionsSection(readFileSync(CLI_DOC, 'utf8')), 'run: npm run cli-surface').toBe(optionsMarkdown());
  });

  it('the snapshot holds what a reviewer must see change: choices, ranges, defaults, conflicts, limits', () => {
    const s = surface() as Record<string, { batch?: string; flags: Record<string, string> }>;
    expect(s['create-inst <file>']!.batch).toBe('at most 200, default 200');
    expect(s['create-inst <file>']!.flags).toMatchObject({
      '--timeout <seconds>': 'number, a value greater than 0, default 60',
      '--batch-size <n>': 'int, a value from 1 to 200, default 200',
      '--resume <report>': 'text, not with --retry-failed',
      '--format <format>': expect.stringMatching(/^choice, csv\|json\|ndjson/),
      '--obj <bk_obj_id>': 'text, required',
    });
    expect(s['update-inst <file>']!.flags['--batch-size <n>']).toBe('int, at least 1, default 100');
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['sim', 'config check', 'completion <shell>']));
  });
});
