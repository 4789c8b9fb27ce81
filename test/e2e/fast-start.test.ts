/**
 * Fast start (src/cli/fast-start.ts, bin/cmdb-bulk.js): the help and version text the bin prints from the build's
 * record is what the program itself prints (dist/cli/main.js run directly), byte for byte and with the same exit
 * code, for every recorded command line, with and without colour settings, and in terminals of the recorded width
 * and of others. What each way loads is checked in performance.test.ts.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { record, type FastStartRecord } from '../../src/cli/fast-start.js';
import { commands } from '../../src/cli/manifests/index.js';
import { BIN, cleanEnv, ROOT } from './helpers.js';

const PROGRAM = join(ROOT, 'dist/cli/main.js');
const built = JSON.parse(readFileSync(join(ROOT, 'dist/cli/fast-start.json'), 'utf8')) as FastStartRecord;
const recordedArgs = Object.keys(built.answers).map((k) => JSON.parse(k) as string[]);

function run(entry: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { cwd: ROOT, env: cleanEnv() }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

/** Everything a terminal of `columns` shows (stdout and stderr) and the exit code, run by util-linux `script`. */
function inTerminal(entry: string, args: string[], columns: number) {
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const line = `stty cols ${columns} && ${[process.execPath, entry, ...args].map(q).join(' ')}`;
  const r = spawnSync('script', ['-qfec', line, '/dev/null'], { cwd: ROOT, env: { ...cleanEnv(), TERM: 'xterm-256color' }, encoding: 'utf8', input: '' });
  return { code: r.status, shown: r.stdout };
}
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;

describe('the fast start record', () => {
  it('is the program as built now, and holds --help and -h of every command, --version and no arguments', () => {
    expect(built).toEqual(record());
    const keys = Object.keys(built.answers);
    for (const m of commands) for (const h of ['--help', '-h']) expect(keys, m.name).toContain(JSON.stringify([...m.name.split(' '), h]));
    for (const args of [[], ['--help'], ['-h'], ['--version'], ['-V'], ['config', '--help']]) expect(keys).toContain(JSON.stringify(args));
  });

  it('every recorded answer is what the program prints: same stdout, stderr and exit code', async () => {
    expect(recordedArgs.length).toBeGreaterThan(2 * commands.length);
    const pending = [...recordedArgs];
    const compare = async () => {
      for (let args = pending.shift(); args; args = pending.shift()) {
        const [fast, program] = await Promise.all([run(BIN, args), run(PROGRAM, args)]);
        expect(fast, `cmdb-bulk ${args.join(' ')}`).toEqual(program);
      }
    };
    await Promise.all([compare(), compare()]);
    // Not vacuous: the answers are the program's different answers.
    expect((await run(BIN, ['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await run(BIN, [])).code).toBe(2);
    expect((await run(BIN, ['create-inst', '--help'])).stdout).toContain('--batch-size <n>');
  }, 180_000);

  it('colour settings do not change a recorded answer', () => {
    const noColorSet = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
    for (const env of [noColorSet, { ...noColorSet, FORCE_COLOR: '1' }, { ...noColorSet, FORCE_COLOR: '3', CLICOLOR_FORCE: '1' }]) {
      for (const args of [['--help'], ['create-inst', '--help'], []]) {
        const r = (entry: string) => spawnSync(process.execPath, [entry, ...args], { cwd: ROOT, env, encoding: 'utf8' });
        const fast = r(BIN);
        const program = r(PROGRAM);
        expect([fast.status, fast.stdout, fast.stderr], `${JSON.stringify(env)} ${args.join(' ')}`).toEqual([program.status, program.stdout, program.stderr]);
      }
    }
  }, 120_000);

  it('into a pipe already closed (`cmdb-bulk --help | true`) it ends as the program does: its exit code, nothing on stderr', async () => {
    const closed = (entry: string, args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [entry, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.destroy(); // long before the child writes: node takes tens of milliseconds to start
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    for (const args of [['--help'], ['create-inst', '--help'], ['--version']]) {
      expect(await closed(BIN, args), args.join(' ')).toEqual(await closed(PROGRAM, args));
      expect(await closed(BIN, args)).toEqual({ code: 0, stderr: '' });
    }
  }, 120_000);

  it.skipIf(!HAVE_SCRIPT)('in a terminal the help is as wide as the terminal: the recorded width and others print what the program prints', () => {
    for (const columns of [built.width, 120, 50]) {
      for (const args of [['--help'], ['create-inst', '--help'], []]) {
        const fast = inTerminal(BIN, args, columns);
        expect(fast, `${columns} columns: cmdb-bulk ${args.join(' ')}`).toEqual(inTerminal(PROGRAM, args, columns));
      }
    }
    // The width shows (so the comparison above can fail): 120 columns wrap the help differently from 80.
    expect(inTerminal(BIN, ['create-inst', '--help'], 120).shown).not.toEqual(inTerminal(BIN, ['create-inst', '--help'], built.width).shown);
  }, 120_000);
});
