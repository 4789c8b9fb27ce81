/**
 * The terminal and CI experience (issue 8), end to end: the BUILT CLI against the in-process simulator, in a
 * pseudo-terminal (util-linux `script`, which merges stdout and stderr as a terminal does) and through pipes.
 * What is asserted is what a person or a CI job sees: the bar or the plain lines, colours or none, the summary
 * and its groups, one JSON object on stdout in every outcome (checked against docs/summary.schema.json), the
 * step summary file, the --failed file fixed and fed back, --help examples, config check and completion.
 *
 * Runs are kept short with small batches, simulator latency and tiny waits; nothing asserts a speed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimOptions, Simulator } from '../../src/sim/index.js';
import { BIN, cmdbEnv, csv, expectRowsOnce, feishuEnv, readReport, ROOT, runCli, tempDir, withSim } from './helpers.js';
import { SUMMARY_SCHEMA, validate } from '../support/summary-schema.js';

const tmp = tempDir();
const sims: Simulator[] = [];
afterAll(async () => {
  await Promise.all(sims.map((x) => x.close()));
  tmp.cleanup();
});

/**
 * A simulator of its own for each test, so the tests can run at the same time (most of their time is spent
 * waiting: latency, rate limits, 429 pauses, process start).
 */
async function world(opts: SimOptions = {}) {
  const sim = await withSim(opts);
  sims.push(sim);
  return {
    sim,
    /** apigw: its 429s carry a reset header, so the wait the run shows is the one the server asked for. */
    env: (extra: Record<string, string | undefined> = {}) => cmdbEnv(sim, 'apigw', extra),
    assetsWith: (prefix: string) => sim.store.instances('bk_switch').filter((x) => String(x.bk_asset_id).startsWith(prefix)),
  };
}

/** `n` valid switches with asset ids `<prefix>-1`..`<prefix>-n`. */
function switchesCsv(n: number, prefix: string): string {
  const lines = ['bk_inst_name,bk_asset_id,port_count'];
  for (let i = 1; i <= n; i++) lines.push(`sw-${prefix}-${i},${prefix}-${i},${(i % 48) + 1}`);
  return csv(lines);
}

// ------------------------------------------------------------------ a pseudo-terminal

const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;

interface TtyResult {
  code: number | null;
  /** Everything the terminal received (stdout and stderr together; the terminal turns \n into \r\n). */
  out: string;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the built CLI in a pseudo-terminal. Environment: only what is given (plus PATH, HOME, TERM), so no NO_COLOR
 * or CI leaks in. `onOutput` sees the output so far and may type into the terminal (`type('\x03')` is Ctrl-C).
 */
function runTty(args: string[], o: { env?: Record<string, string | undefined>; onOutput?: (out: string, type: (s: string) => void) => void; timeoutMs?: number } = {}): Promise<TtyResult> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color' };
  for (const [k, v] of Object.entries(o.env ?? {})) if (v !== undefined) childEnv[k] = v;
  const command = [process.execPath, BIN, ...args].map(shq).join(' ');
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const type = (s: string) => child.stdin!.write(s);
    child.stdout!.on('data', (d) => {
      out += d;
      o.onOutput?.(out, type);
    });
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cmdb-bulk ${args.join(' ')} did not end in a terminal (a hang?)\noutput:\n${out}`));
    }, o.timeoutMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const BAR_CHARS = /[█░]/;
const SGR = /\x1b\[[0-9;]*m/;
/** The output with colours removed, for matching text. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

// ------------------------------------------------------------------ docs/summary.schema.json


/** stdout must be exactly one JSON object on one line, valid against the schema, with the process's exit code. */
function theJson(r: { code: number | null; stdout: string }): Record<string, unknown> {
  const lines = r.stdout.split('\n');
  expect(lines.length, `stdout: ${r.stdout}`).toBe(2);
  expect(lines[1]).toBe('');
  const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(validate(SUMMARY_SCHEMA, obj)).toEqual([]);
  expect(obj.exit_code).toBe(r.code);
  const sum = (obj.ok as number) + (obj.failed as number) + (obj.invalid as number) + (obj.unsent as number);
  expect(sum).toBe(obj.total);
  return obj;
}

// ------------------------------------------------------------------ tests

describe.skipIf(!HAVE_SCRIPT).concurrent('in a terminal', () => {
  it('draws a live bar with counts, rows/s, ETA and colours, and ends it with a newline before the summary', async () => {
    const { sim, env, assetsWith } = await world();
    sim.setFaults({ latencyMs: 40, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-bar.csv', switchesCsv(200, 'TB'));
    const report = join(tmp.dir, 'tty-bar.report.csv');
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', report], { env: env() });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(BAR_CHARS);
    expect(r.out).toMatch(SGR); // a terminal gets colours
    const text = plain(r.out);
    expect(text).toMatch(/create-inst [█░]+ \d{1,3}\/200 ok \d+ failed 0/);
    expect(text).toMatch(/\d+ rows\/s/);
    expect(text).toMatch(/ETA \d+/);
    // The last frame is complete and the summary starts on a line of its own.
    expect(text).toMatch(/200\/200 ok 200 failed 0[^\r\n]*\r?\n(?:\r?\n)*create-inst: 200 rows in /);
    expect(text).toMatch(/200 ok · 0 failed · 0 invalid · 0 unsent/);
    expect(assetsWith('TB-')).toHaveLength(200);
  });

  it('says "waiting N s (server rate limit)" while a 429 holds the run', async () => {
    const { sim, env, assetsWith } = await world();
    sim.setFaults({ storm429: 1, stormResetSec: 2, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-429.csv', switchesCsv(30, 'TW'));
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--report', join(tmp.dir, 'tty-429.report.csv')], { env: env() });
    expect(r.code).toBe(0);
    expect(plain(r.out)).toMatch(/create-inst [^\r\n]*· waiting [12]\.\d s \(server rate limit\)/);
    expect(plain(r.out)).toMatch(/1 rate-limit answer \(429, waited 2\.\d s\)/);
    expect(sim.counters().faultsInjected.storm429).toBe(1);
    expect(assetsWith('TW-')).toHaveLength(30);
  });

  it('says "waiting N s (rate limit)" while the client\'s own --rate holds the run', async () => {
    const { sim, env, assetsWith } = await world();
    const input = tmp.file('tty-rate.csv', switchesCsv(20, 'TR'));
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--rate', '1/1200ms', '--report', join(tmp.dir, 'tty-rate.report.csv')], { env: env() });
    expect(r.code).toBe(0);
    expect(plain(r.out)).toMatch(/create-inst [^\r\n]*· waiting \d\.\d s \(rate limit\)/);
    expect(sim.counters().http429).toBe(0);
    expect(assetsWith('TR-')).toHaveLength(20);
  });

  it('with NO_COLOR or --no-color the terminal gets the bar but not one escape code', async () => {
    const { sim, env } = await world();
    for (const [i, opts] of [[1, { env: env({ NO_COLOR: '1' }), args: [] }], [2, { env: env(), args: ['--no-color'] }]] as const) {
      sim.setFaults({ latencyMs: 30, ops: ['batch_create_inst'] });
      const input = tmp.file(`tty-nocolor-${i}.csv`, switchesCsv(40, `NC${i}`));
      const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', join(tmp.dir, `nc${i}.report.csv`), ...opts.args], { env: opts.env });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(BAR_CHARS);
      expect(r.out).not.toContain('\x1b');
      expect(r.out).toContain('40 ok · 0 failed');
    }
  });

  it('with CI=true: no bar, but a plain progress line every interval, also while a 429 holds the run', async () => {
    const { sim, env, assetsWith } = await world();
    sim.setFaults({ storm429: 1, stormResetSec: 1.5, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-ci.csv', switchesCsv(30, 'CI'));
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--report', join(tmp.dir, 'tty-ci.report.csv')], {
      env: env({ CI: 'true', CMDB_BULK_PROGRESS_INTERVAL_MS: '150' }),
    });
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(BAR_CHARS);
    expect(r.out).not.toMatch(/\r(?!\n)/); // no line is redrawn in place
    const lines = plain(r.out).split(/\r?\n/).filter((l) => l.startsWith('[create-inst] '));
    expect(lines.length).toBeGreaterThanOrEqual(3); // 1.5 s of waiting at one line per 150 ms
    for (const l of lines) expect(l).toMatch(/^\[create-inst\] \d+\/30 rows \(\d+%\) ok \d+ failed 0/);
    expect(lines.some((l) => /waiting \d\.\d s \(server rate limit\)/.test(l))).toBe(true);
    expect(assetsWith('CI-')).toHaveLength(30);
  });

  it('Ctrl-C: the bar ends, the run stops after the batches in flight, exit 130; the --failed file finishes the job', async () => {
    const { sim, env, assetsWith } = await world();
    sim.setFaults({ latencyMs: 60, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-int.csv', switchesCsv(300, 'INT'));
    const report = join(tmp.dir, 'tty-int.report.csv');
    const failed = join(tmp.dir, 'tty-int.failed.csv');
    let pressed = false;
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', report, '--failed', failed], {
      env: env({ NO_COLOR: '1' }),
      onOutput: (out, type) => {
        if (!pressed && /ok [2-9]\d failed/.test(out)) {
          pressed = true;
          type('\x03');
        }
      },
    });
    expect(pressed).toBe(true);
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/Ctrl-C: finishing the batches in flight/);
    const rows = readReport(report);
    expectRowsOnce(rows, 300);
    const ok = rows.filter((x) => x.status === 'ok').length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(300);
    expect(rows.filter((x) => x.status === 'unsent').length).toBe(300 - ok);
    expect(assetsWith('INT-')).toHaveLength(ok);
    // The bar line was ended before the summary, which tells how to finish.
    expect(r.out).toMatch(/ok \d+ failed 0 unsent \d+[^\r\n]*\r?\n/);
    expect(r.out).toMatch(new RegExp(`${ok} ok · 0 failed · 0 invalid · ${300 - ok} unsent`));
    expect(r.out).toContain(`--resume ${report}`);
    // The rows left are in the --failed file; loading it finishes the import.
    const again = await runCli(['create-inst', failed, '--obj', 'bk_switch', '--report', join(tmp.dir, 'tty-int.again.csv')], { env: env() });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${300 - ok} ok · 0 failed`);
    expect(assetsWith('INT-')).toHaveLength(300);
    expect(new Set(assetsWith('INT-').map((s) => s.bk_asset_id)).size).toBe(300);
  });

  it('a second Ctrl-C stops at once, without waiting for the request in flight', async () => {
    const { sim, env } = await world();
    // The write hangs for 5 minutes: ending within the test's time proves nobody waits for it.
    sim.setFaults({ latencyMs: 300_000, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-int2.csv', switchesCsv(30, 'INT2'));
    const report = join(tmp.dir, 'tty-int2.report.csv');
    let presses = 0;
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', report], {
      env: env({ NO_COLOR: '1' }),
      onOutput: (out, type) => {
        // The bar redraws 10 times a second, so this is called again and again while the write hangs.
        if (presses === 0 && out.includes('0/30') && (sim.counters().requests.batch_create_inst ?? 0) > 0) {
          presses = 1;
          type('\x03');
        } else if (presses === 1 && out.includes('Ctrl-C: finishing')) {
          presses = 2;
          type('\x03');
        }
      },
    });
    expect(presses).toBe(2);
    expect(r.code).toBe(130);
    expect(r.out).toContain('stopping now');
    const rows = readReport(report);
    expectRowsOnce(rows, 30);
    // The batch in flight may or may not have been applied: reported failed "outcome unknown", never ok.
    expect(rows.slice(0, 10).every((x) => x.status === 'failed' && x.error_code === 'outcome_unknown')).toBe(true);
    expect(rows.slice(10).every((x) => x.status === 'unsent')).toBe(true);
  });

  it('an error ends the bar and the process at once (permission refused on the first write: exit 4)', async () => {
    const { sim, env, assetsWith } = await world();
    sim.setFaults({ latencyMs: 30, ops: ['batch_create_inst'] });
    const input = tmp.file('tty-err.csv', switchesCsv(50, 'ERR'));
    const r = await runTty(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', join(tmp.dir, 'tty-err.report.csv')], {
      env: env({ NO_COLOR: '1', BK_USERNAME: 'forbidden' }),
    });
    expect(r.code).toBe(4);
    expect(r.out).toMatch(BAR_CHARS);
    expect(r.out).toMatch(/failed \d+[^\r\n]*\r?\n/); // the bar's line was ended
    expect(r.out).toMatch(/0 ok · \d+ failed · 0 invalid · \d+ unsent/);
    expect(r.out).toMatch(/error: .*(permission|forbidden)/i);
    expect(assetsWith('ERR-')).toHaveLength(0);
  });
});

describe.concurrent('in a pipe', () => {
  it('no bar, no escape codes, no redrawn lines; plain progress lines at the interval, also while --rate holds the run', async () => {
    const { env, assetsWith } = await world();
    const input = tmp.file('pipe.csv', switchesCsv(40, 'PIPE'));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--rate', '2/s', '--report', join(tmp.dir, 'pipe.report.csv')], {
      env: env({ NO_COLOR: '', CMDB_BULK_PROGRESS_INTERVAL_MS: '100' }),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(BAR_CHARS);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).not.toContain('\r');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('[create-inst] '));
    expect(lines.length).toBeGreaterThanOrEqual(2); // 4 requests at 2/s: over a second of waiting
    expect(lines.some((l) => /waiting \d\.\d s \(rate limit\)/.test(l))).toBe(true);
    expect(r.stdout).toBe('');
    expect(assetsWith('PIPE-')).toHaveLength(40);
  });

  it('FORCE_COLOR turns colours on even in a pipe, on stderr only', async () => {
    const { env } = await world();
    const input = tmp.file('force.csv', csv(['bk_inst_name,bk_asset_id', 'a,FC-1', 'b,SW-EXIST-0001']));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 'force.report.csv')], { env: env({ NO_COLOR: '', FORCE_COLOR: '1' }) });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(SGR);
    expect(plain(r.stderr)).toContain('1 ok · 1 failed');
  });
});

describe.concurrent('the summary', () => {
  it('counts each status, and groups the failures by cause with their first rows; the same in --json and the step summary', async () => {
    const { env, assetsWith } = await world();
    const lines = ['bk_inst_name,bk_asset_id,vendor'];
    for (let i = 1; i <= 12; i++) lines.push(`dup-${i},SW-EXIST-${String(i).padStart(4, '0')},cisco`);
    for (let i = 1; i <= 3; i++) lines.push(`bad-${i},SG-BAD-${i},juniper`);
    for (let i = 1; i <= 5; i++) lines.push(`new-${i},SG-${i},huawei`);
    const input = tmp.file('summary.csv', csv(lines));
    const report = join(tmp.dir, 'summary.report.csv');
    const stepSummary = tmp.file('step-summary.md', '# an earlier step\n');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--report', report], { env: env({ GITHUB_STEP_SUMMARY: stepSummary }) });
    expect(r.code).toBe(3);
    const err = r.stderr;
    expect(err).toMatch(/create-inst: 20 rows in \d/);
    expect(err).toContain('5 ok · 12 failed · 3 invalid · 0 unsent');
    expect(err).toMatch(/\d+ requests?, 0 retries/);
    expect(err).toContain(`report: ${report}`);
    expect(err).toContain('Failures by cause:');
    // Per-row create errors carry no code on the real server: the tool names them by their text. (Their names are
    // new, so the look-up by bk_inst_name finds no record to name: the server's message stands.)
    expect(err).toMatch(/12 rows {2}\[duplicate\] duplicated instances exist, fields \[bk_asset_id: "SW-EXIST-0001"\] duplicated {2}\(rows 1, 2, 3, 4, 5, …\)/);
    expect(err).toMatch(/ 3 rows {2}vendor: expected one of cisco, huawei, h3c, got "juniper" {2}\(rows 13, 14, 15\)/);
    // They would fail again: the advice is an update by the key, not --retry-failed.
    expect(err).toMatch(/Next: 12 rows already exist on the server \(a unique value is taken\).*update-inst … --key <the unique field>/);
    expect(err).not.toMatch(/again with --retry-failed/);
    expect(assetsWith('SG-')).toHaveLength(5);

    // The step summary was appended after what was there.
    const md = readFileSync(stepSummary, 'utf8');
    expect(md.startsWith('# an earlier step\n### cmdb-bulk create-inst: 5 of 20 rows ok')).toBe(true);
    expect(md).toContain('| failed | 12 |');
    expect(md).toContain('| invalid | 3 |');
    expect(md).toContain('#### Failures by cause');
    expect(md).toMatch(/\| 12 \| duplicate \| .*duplicated \| 1, 2, 3, 4, 5, … \|/);

    // The same numbers in --json (the store has the new 5 now, so they fail too: 17 duplicates). The report holds
    // ok rows: writing over it takes --overwrite.
    const j = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--report', report, '--overwrite', '--json'], { env: env() });
    const s = theJson(j);
    expect(s).toMatchObject({ command: 'create-inst', total: 20, ok: 0, failed: 17, invalid: 3, unsent: 0, report, exit_code: 3 });
    const groups = s.groups as Array<{ error_code?: string; count: number; rows: number[] }>;
    expect(groups.map((g) => [g.error_code, g.count, g.rows])).toEqual([
      ['duplicate', 12, [1, 2, 3, 4, 5]],
      ['duplicate', 5, [16, 17, 18, 19, 20]],
      [undefined, 3, [13, 14, 15]],
    ]);
  });

  it('a dry run says what would be sent, and asks to fix invalid rows only when there are some', async () => {
    const { sim, env } = await world();
    const clean = tmp.file('dry.csv', switchesCsv(25, 'DRY'));
    const bad = tmp.file('dry-bad.csv', csv(['bk_inst_name,bk_asset_id,port_count', 'a,DB-1,24', 'b,DB-2,5000']));
    const [r, b] = await Promise.all([
      runCli(['create-inst', clean, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'dry.report.csv')], { env: env() }),
      runCli(['create-inst', bad, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'dry-bad.report.csv')], { env: env() }),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('create-inst (dry run, nothing sent): 25 rows');
    expect(r.stderr).toContain('25 ready to send · 0 invalid');
    expect(r.stderr).toContain('1 batch planned');
    expect(r.stderr).toContain('Every row passed the checks: run again without --dry-run');
    expect(r.stderr).not.toMatch(/fix the invalid/i);
    expect(r.stderr).not.toMatch(/unsent/);

    expect(b.code).toBe(2);
    expect(b.stderr).toContain('1 ready to send · 1 invalid');
    expect(b.stderr).toMatch(/row 2: port_count: expected at most 1024, got "5000"/);
    expect(b.stderr).toContain('Fix the invalid rows (see the plan), then run again without --dry-run.');
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe.concurrent('--json: exactly one JSON object on stdout, whatever happens', () => {
  const input = (name: string) => tmp.file(`${name}.csv`, switchesCsv(5, 'JS'));

  it('success and partial failure', async () => {
    const { env } = await world();
    const ok = await runCli(['create-inst', input('js-ok'), '--obj', 'bk_switch', '--report', join(tmp.dir, 'js1.csv'), '--json'], { env: env() });
    expect(ok.code).toBe(0);
    expect(theJson(ok)).toMatchObject({ total: 5, ok: 5, error: null });
    const again = await runCli(['create-inst', input('js-ok'), '--obj', 'bk_switch', '--report', join(tmp.dir, 'js2.csv'), '--json'], { env: env() });
    expect(again.code).toBe(3);
    expect(theJson(again)).toMatchObject({ total: 5, ok: 0, failed: 5 });
  });

  it('usage errors: unknown flag, missing option, bad value, missing file, invalid rows', async () => {
    const { sim, env } = await world();
    const cases: Array<[string[], RegExp]> = [
      [['create-inst', input('js-u1'), '--obj', 'bk_switch', '--bogus'], /unknown option '--bogus'/],
      [['create-inst', input('js-u2')], /required option '--obj/],
      [['create-inst', input('js-u3'), '--obj', 'bk_switch', '--batch-size', 'ten'], /"ten" is not a whole number/],
      [['create-inst', join(tmp.dir, 'nope.csv'), '--obj', 'bk_switch'], /cannot read .*nope\.csv/],
      [['create-inst', tmp.file('json-bad.csv', csv(['bk_inst_name,bk_asset_id,port_count', 'a,JB-1,x'])), '--obj', 'bk_switch', '--report', join(tmp.dir, 'jb.csv')], /invalid row/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli([...args, '--json'], { env: env() })));
    for (const [i, [args, why]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      const s = theJson(r);
      expect(String(s.error)).toMatch(why);
      expect(s.command).toBe('create-inst');
    }
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('interruption (SIGINT): exit 130 and the summary of the rows done', async () => {
    let child: ChildProcess | undefined;
    let creates = 0;
    // The simulator logs a request when it answers: after the third answered write, Ctrl-C.
    const { sim, env } = await world({
      log: (line) => {
        if (line.includes('batch_create_inst') && ++creates === 3) child?.kill('SIGINT');
      },
    });
    sim.setFaults({ latencyMs: 50, ops: ['batch_create_inst'] });
    const file = tmp.file('json-int.csv', switchesCsv(200, 'JI'));
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--batch-size', '10', '--concurrency', '1', '--report', join(tmp.dir, 'ji.csv'), '--json'], {
      env: env(),
      onSpawn: (c) => (child = c),
    });
    expect(r.code).toBe(130);
    const s = theJson(r);
    expect(s.total).toBe(200);
    expect(s.ok as number).toBeGreaterThanOrEqual(20);
    expect(s.unsent as number).toBeGreaterThan(0);
    expect(String(s.error)).toMatch(/interrupted/);
  });
});

describe.concurrent('--failed: fix the rows and feed the file back', () => {
  it('CSV: the failed and invalid rows in the input\'s own columns (type hints kept) plus _error; fixed, they load', async () => {
    const { env, assetsWith } = await world();
    const input = tmp.file('fx.csv', csv([
      'bk_inst_name,bk_asset_id,port_count:int,vendor',
      'good one,FX-1,24,cisco',
      'too many ports,FX-2,99999,cisco',
      'taken id,SW-EXIST-0001,48,huawei',
      'odd vendor,FX-4,48,juniper',
      '"with, comma",FX-5,12,h3c',
      'short row,FX-6,12',
    ]));
    const failed = join(tmp.dir, 'fx.failed.csv');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--failed', failed, '--report', join(tmp.dir, 'fx.report.csv')], { env: env() });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`failed rows: ${failed}`);
    const text = readFileSync(failed, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('bk_inst_name,bk_asset_id,port_count:int,vendor,_error');
    expect(lines.slice(1)).toEqual([
      'too many ports,FX-2,99999,cisco,"port_count: expected at most 1024, got ""99999"""',
      'taken id,SW-EXIST-0001,48,huawei,"duplicated instances exist, fields [bk_asset_id: ""SW-EXIST-0001""] duplicated"',
      'odd vendor,FX-4,48,juniper,"vendor: expected one of cisco, huawei, h3c, got ""juniper"""',
      // A row with a cell missing keeps the cells it has, so it can be completed.
      'short row,FX-6,12,,"line 7: 3 cells, the header has 4 (check quoting and delimiters)"',
    ]);
    // A person fixes the values and loads the file as it is (the _error column is ignored on input).
    writeFileSync(failed, text.replace(',99999,', ',48,').replace('SW-EXIST-0001,', 'FX-3,').replace(',juniper,', ',h3c,').replace('FX-6,12,,', 'FX-6,12,cisco,'));
    const fixed = await runCli(['create-inst', failed, '--obj', 'bk_switch', '--report', join(tmp.dir, 'fx.fixed.report.csv')], { env: env() });
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toContain('4 ok · 0 failed · 0 invalid · 0 unsent');
    const fx = assetsWith('FX-').sort((a, b) => String(a.bk_asset_id).localeCompare(String(b.bk_asset_id)));
    expect(fx.map((s) => [s.bk_asset_id, s.port_count, s.vendor])).toEqual([
      ['FX-1', 24, 'cisco'],
      ['FX-2', 48, 'cisco'],
      ['FX-3', 48, 'huawei'],
      ['FX-4', 48, 'h3c'],
      ['FX-5', 12, 'h3c'],
      ['FX-6', 12, 'cisco'],
    ]);
  });

  it('NDJSON: the rows keep their JSON types; fixed, they load', async () => {
    const { env, assetsWith } = await world();
    const input = tmp.file('fxn.ndjson', [
      { bk_inst_name: 'a', bk_asset_id: 'FN-1', port_count: 24, is_managed: true },
      { bk_inst_name: 'b', bk_asset_id: 'FN-2', port_count: '24', is_managed: true },
      { bk_inst_name: 'c', bk_asset_id: 'SW-EXIST-0002', port_count: 8, is_managed: false },
    ].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const failed = join(tmp.dir, 'fxn.failed.ndjson');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--failed', failed, '--report', join(tmp.dir, 'fxn.report.ndjson')], { env: env() });
    expect(r.code).toBe(3);
    const rows = readFileSync(failed, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((x) => [x.bk_asset_id, x.port_count, x.is_managed])).toEqual([['FN-2', '24', true], ['SW-EXIST-0002', 8, false]]);
    expect(rows[0]!._error).toMatch(/port_count: expected a whole number/);
    expect(rows[1]!._error).toMatch(/duplicated/);
    rows[0]!.port_count = 24;
    rows[1]!.bk_asset_id = 'FN-3';
    writeFileSync(failed, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const fixed = await runCli(['create-inst', failed, '--obj', 'bk_switch', '--report', join(tmp.dir, 'fxn.fixed.report.ndjson')], { env: env() });
    expect(fixed.code).toBe(0);
    expect(assetsWith('FN-').map((s) => [s.bk_asset_id, s.port_count, s.is_managed]).sort()).toEqual([['FN-1', 24, true], ['FN-2', 24, true], ['FN-3', 8, false]]);
  });
});

describe.concurrent('help, config check, completion', () => {
  it('every command\'s --help shows an example', async () => {
    const top = await runCli(['--help']);
    const names = [...top.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names).toEqual(expect.arrayContaining(['create-inst', 'update-inst', 'update-process', 'associate', 'apaas-update', 'sim', 'config', 'completion']));
    const all = [...names, 'config check'];
    const helps = await Promise.all(all.map((name) => runCli([...name.split(' '), '--help'])));
    for (const [i, name] of all.entries()) {
      const r = helps[i]!;
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(/\nExample:\n {2}(cmdb-bulk |eval ")/);
    }
  });

  it('config check shows where each setting comes from, masks secrets and proves the credentials', async () => {
    const { sim, env } = await world();
    const e = { ...env(), ...feishuEnv(sim) };
    const wrong = 'not-the-secret-4711';
    const [r, bad, json] = await Promise.all([
      runCli(['config', 'check'], { env: e }),
      runCli(['config', 'check', '--service', 'cmdb'], { env: { ...e, BK_APP_SECRET: wrong } }),
      runCli(['config', 'check', '--service', 'feishu', '--json'], { env: { ...e, FEISHU_APP_SECRET: wrong } }),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/CMDB_URL +http:\/\/127\.0\.0\.1:\d+\/api\/bk-cmdb\/prod {2}\(from env CMDB_URL\)/);
    expect(r.stderr).toMatch(/CMDB_GATEWAY +apigw/);
    expect(r.stderr).toMatch(/BK_APP_SECRET +set \(\*\*\*\*/);
    expect(r.stderr).toMatch(/✔ read \d+ attributes of model host: the credentials work/);
    expect(r.stderr).toMatch(/✔ tenant token obtained/);
    for (const secret of [sim.credentials.bkAppSecret, sim.credentials.feishuAppSecret]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }

    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/✘ CMDB rejected the credentials .*check BK_APP_CODE \/ BK_APP_SECRET/);
    expect(bad.stderr).not.toContain(wrong);

    expect(json.code).toBe(4);
    const out = JSON.parse(json.stdout) as { ok: boolean; results: Array<{ service: string; ok: boolean; message: string }> };
    expect(out.ok).toBe(false);
    expect(out.results[0]).toMatchObject({ service: 'feishu', ok: false });
    expect(out.results[0]!.message).toMatch(/FEISHU_APP_SECRET/);
    expect(json.stdout + json.stderr).not.toContain(wrong);
  });

  it('completion scripts for bash and zsh pass the shells\' syntax check', async () => {
    const [bash, zsh, bad] = await Promise.all([runCli(['completion', 'bash']), runCli(['completion', 'zsh']), runCli(['completion', 'fish'])]);
    for (const [shell, r] of [['bash', bash], ['zsh', zsh]] as const) {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('create-inst');
      const file = tmp.file(`completion.${shell}`, r.stdout);
      const has = spawnSync(shell, ['-c', 'exit 0']).status === 0;
      if (!has) continue; // zsh is not everywhere; bash is
      const check = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
      expect(check.status, `${shell} -n: ${check.stderr}`).toBe(0);
    }
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no completion for "fish".*\n.*bash or zsh/);
    expect(existsSync(BIN)).toBe(true);
  });
});
