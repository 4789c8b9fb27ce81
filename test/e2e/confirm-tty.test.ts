/**
 * The y/N question of delete-inst, revert and sync --prune, in a real pseudo-terminal (test/support/pty-run.py): the
 * built CLI against the simulator, stdin and stderr a terminal as in an interactive shell. The answer is typed once
 * the question has appeared (no sleeps): `n` deletes nothing, `y` deletes; the question names the count.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, cmdbEnv, csv, ROOT, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();
const PTY_RUN = join(ROOT, 'test/support/pty-run.py');

interface TtyRun {
  code: number | null;
  answered: boolean;
  timed_out: boolean;
  output: string;
}

/** Runs the CLI in a pseudo-terminal and types `answer` once `prompt` is on the screen. */
function inTerminal(args: string[], prompt: RegExp, answer: string): Promise<TtyRun> {
  const env = cleanEnv(cmdbEnv(sim, 'esb'));
  return new Promise((resolve, reject) => {
    execFile('python3', [PTY_RUN, prompt.source, answer, '90', process.execPath, BIN, ...args], { env, cwd: tmp.dir, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pty-run failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as TtyRun);
    });
  });
}

const byAsset = (id: string) => sim.store.instances('bk_switch').find((s) => s.bk_asset_id === id);
const deletes = () => sim.counters().requests.batch_delete_inst ?? 0;
/** The question is on screen when its `[y/N]` is: what precedes it is checked after the run. */
const QUESTION = /\[y\/N\]/;

describe('the y/N question in a terminal', () => {
  it('delete-inst: the question names the count; n deletes nothing (exit 2), y deletes (exit 0)', async () => {
    const input = tmp.file('tty-delete.csv', csv(['bk_asset_id', 'SW-EXIST-0003', 'SW-EXIST-0004']));
    const args = ['delete-inst', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--no-progress'];

    const no = await inTerminal([...args, '--report', join(tmp.dir, 'tty-delete-n.report.csv')], QUESTION, 'n');
    expect(no).toMatchObject({ answered: true, timed_out: false, code: 2 });
    expect(no.output).toContain('Delete 2 bk_switch instance(s)? [y/N]');
    expect(no.output).toContain('not confirmed');
    expect(deletes()).toBe(0);
    expect(byAsset('SW-EXIST-0003')).toBeDefined();

    const yes = await inTerminal([...args, '--report', join(tmp.dir, 'tty-delete-y.report.csv')], QUESTION, 'y');
    expect(yes).toMatchObject({ answered: true, timed_out: false, code: 0 });
    expect(yes.output).toContain('Delete 2 bk_switch instance(s)? [y/N]');
    expect(byAsset('SW-EXIST-0003')).toBeUndefined();
    expect(byAsset('SW-EXIST-0004')).toBeUndefined();
  });

  it('revert of a create-inst: n deletes nothing (exit 2), y deletes the created instances (exit 0)', async () => {
    const input = tmp.file('tty-create.csv', csv(['bk_inst_name,bk_asset_id', 'tty-1,SW-TTY-1', 'tty-2,SW-TTY-2', 'tty-3,SW-TTY-3']));
    const report = join(tmp.dir, 'tty-create.report.csv');
    expect((await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, 'esb') })).code).toBe(0);
    const before = deletes();

    const no = await inTerminal(['revert', report, '--no-progress', '--report', join(tmp.dir, 'tty-revert-n.ndjson')], QUESTION, 'n');
    expect(no).toMatchObject({ answered: true, timed_out: false, code: 2 });
    expect(no.output).toContain('Delete 3 bk_switch instance(s) the run created');
    expect(deletes()).toBe(before);
    for (const a of ['SW-TTY-1', 'SW-TTY-2', 'SW-TTY-3']) expect(byAsset(a)).toBeDefined();

    const yes = await inTerminal(['revert', report, '--no-progress', '--report', join(tmp.dir, 'tty-revert-y.ndjson')], QUESTION, 'y');
    expect(yes).toMatchObject({ answered: true, timed_out: false, code: 0 });
    for (const a of ['SW-TTY-1', 'SW-TTY-2', 'SW-TTY-3']) expect(byAsset(a)).toBeUndefined();
  });

  it('sync --prune: n deletes nothing (exit 3, the summary says so), y deletes what the file does not name (exit 0)', async () => {
    const all = sim.store.instances('bk_switch').map((s) => String(s.bk_asset_id));
    // SW-EXIST-0001 and 0020 have associations: keep them in the file so that the prune can delete all it names.
    const gone = ['SW-EXIST-0011', 'SW-EXIST-0012'];
    const input = tmp.file('tty-prune.csv', csv(['bk_asset_id', ...all.filter((a) => !gone.includes(a))]));
    const args = ['sync', input, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--prune', '--no-progress'];

    const no = await inTerminal([...args, '--report', join(tmp.dir, 'tty-prune-n.report.csv')], QUESTION, 'n');
    expect(no).toMatchObject({ answered: true, timed_out: false, code: 3 });
    expect(no.output).toContain('Delete 2 bk_switch instances that the file does not name (SW-EXIST-0011, SW-EXIST-0012)? [y/N]');
    expect(no.output).toContain('not confirmed: nothing deleted');
    expect(deletes()).toBe(0);
    for (const a of gone) expect(byAsset(a)).toBeDefined();

    const yes = await inTerminal([...args, '--report', join(tmp.dir, 'tty-prune-y.report.csv')], QUESTION, 'y');
    expect(yes).toMatchObject({ answered: true, timed_out: false, code: 0 });
    for (const a of gone) expect(byAsset(a)).toBeUndefined();
    expect(sim.store.instances('bk_switch')).toHaveLength(all.length - 2);
  });
});
