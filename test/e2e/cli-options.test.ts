/**
 * The options as a user meets them, through the built CLI: checks made where the flag is declared (exit 2 naming
 * the flag, nothing sent), the input encoding left to BOM detection unless given, and shell completion that
 * offers every option the command's --help lists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { cmdbEnv, FIXTURES, readReport, runCli, tempDir, withSim } from './helpers.js';

const tmp = tempDir();
let sim: Simulator;
beforeAll(async () => {
  sim = await withSim({ world: 'empty-extra' });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});

const SWITCHES = join(FIXTURES, 'switches.csv');

describe.concurrent('values checked where the flag is declared: exit 2, the flag named, nothing sent', () => {
  // A copy, so that a report written by mistake would land here (next to the input) and be seen.
  const refused = tmp.file('refused.csv', readFileSync(SWITCHES));
  const cases: [string, string[], RegExp][] = [
    ['--timeout 0', ['--timeout', '0'], /--timeout <seconds>.*'0'.*greater than 0/],
    ['--timeout -1', ['--timeout', '-1'], /--timeout <seconds>.*'-1'.*greater than 0/],
    ['--timeout soon', ['--timeout', 'soon'], /--timeout <seconds>.*'soon'.*not a number/],
    ['--concurrency 0', ['--concurrency', '0'], /--concurrency <n>.*'0'.*from 1 to 64/],
    ['--concurrency 65', ['--concurrency', '65'], /--concurrency <n>.*'65'.*from 1 to 64/],
    ['--batch-size 0', ['--batch-size', '0'], /--batch-size <n>.*'0'.*from 1 to 200/],
    ['--retries 1.5', ['--retries', '1.5'], /--retries <n>.*'1\.5'.*not a whole number/],
    ['--resume with --retry-failed', ['--resume', 'a.csv', '--retry-failed', 'b.csv'], /--retry-failed <report>.*cannot be used with.*--resume <report>|--resume <report>.*cannot be used with.*--retry-failed <report>/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await runCli(['create-inst', refused, '--obj', 'bk_switch', ...args], { env: cmdbEnv(sim, 'esb'), cwd: tmp.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('(see: cmdb-bulk create-inst --help)');
      expect(existsSync(join(tmp.dir, 'refused.create-inst.report.csv'))).toBe(false);
      expect(sim.counters().writeRequests).toBe(0);
    });
  }

  it('with --json, a bad value is still one JSON object on stdout naming the flag', async () => {
    const r = await runCli(['update-inst', SWITCHES, '--obj', 'bk_switch', '--json', '--timeout', '0'], { env: cmdbEnv(sim, 'esb'), cwd: tmp.dir });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { command: string; exit_code: number; error: string };
    expect(out).toMatchObject({ command: 'update-inst', exit_code: 2 });
    expect(out.error).toMatch(/--timeout/);
  });

  it('a fractional --timeout above 0 is accepted (the check can pass)', async () => {
    const report = join(tmp.dir, 'timeout-ok.report.csv');
    const r = await runCli(['create-inst', SWITCHES, '--obj', 'bk_switch', '--dry-run', '--timeout', '0.5', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('shared groups mean the same flags everywhere', () => {
  it('config check takes the connection flags the data commands take (--ca is read, not refused as unknown)', async () => {
    const r = await runCli(['config', 'check', '--service', 'cmdb', '--ca', join(tmp.dir, 'no-such-ca.pem')], { env: cmdbEnv(sim, 'esb') });
    expect(r.stderr).not.toMatch(/unknown option/);
    expect(r.stderr).toMatch(/✘ cannot read --ca .*no-such-ca\.pem: ENOENT/);
    expect(r.code).toBe(2);
  });
});

describe('input encoding: a byte order mark decides unless --encoding is given', () => {
  const text = 'bk_inst_name,bk_asset_id,port_count\n核心交换机-1,ENC-1,48\n核心交换机-2,ENC-2,24\n';
  const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

  it('reads a UTF-16LE file with a BOM (Excel\'s "Unicode Text") without flags', async () => {
    const file = tmp.file('u16le.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const report = join(tmp.dir, 'u16le.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--no-progress'], { env: cmdbEnv(sim, 'esb') });
    expect(r.stderr).not.toMatch(/not valid UTF-8/);
    expect(r.code).toBe(0);
    expect(readReport(report).map((x) => x.status)).toEqual(['ok', 'ok']);
    const names = [...sim.store.instanceMap('bk_switch').values()].map((i) => i.bk_inst_name);
    expect(names).toEqual(expect.arrayContaining(['核心交换机-1', '核心交换机-2']));
  });

  // bk_inst_name is unique per model (bk-cmdb's default rule): new names, not only new asset ids.
  it('reads a UTF-16BE file with a BOM without flags', async () => {
    const file = tmp.file('u16be.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text.replaceAll('ENC-', 'ENCBE-').replaceAll('核心', '汇聚'))]));
    const report = join(tmp.dir, 'u16be.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--no-progress'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(readReport(report).map((x) => x.status)).toEqual(['ok', 'ok']);
    const names = [...sim.store.instanceMap('bk_switch').values()].map((i) => i.bk_inst_name);
    expect(names).toEqual(expect.arrayContaining(['汇聚交换机-1', '汇聚交换机-2']));
  });

  it('an explicit --encoding still wins over the BOM', async () => {
    const file = tmp.file('u16-forced.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--encoding', 'utf-8', '--report', join(tmp.dir, 'forced.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid UTF-8/);
  });
});

describe('shell completion offers what --help lists', () => {
  /** The long options a command's --help lists, from the help text itself. */
  async function helpOptions(command: string): Promise<string[]> {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    return [...new Set([...r.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1]!))].sort();
  }

  async function bashComplete(words: string[]): Promise<string[]> {
    const script = (await runCli(['completion', 'bash'])).stdout;
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _cmdb_bulk; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: tmp.dir, encoding: 'utf8' });
    return out.split('\n').filter(Boolean).sort();
  }

  for (const command of ['create-inst', 'apaas-update', 'sim']) {
    it(`bash: every option of ${command}`, async () => {
      const listed = await helpOptions(command);
      expect(listed).toEqual(expect.arrayContaining(['--help']));
      const offered = await bashComplete(['cmdb-bulk', command, '--']);
      expect(offered).toEqual(expect.arrayContaining(listed));
      if (command === 'create-inst') expect(listed).toEqual(expect.arrayContaining(['--obj', '--key', '--timeout', '--dry-run', '--gateway', '--encoding']));
    });
  }

  it('bash: the values of a choice option come from its declaration', async () => {
    expect(await bashComplete(['cmdb-bulk', 'create-inst', '--empty', ''])).toEqual(['null', 'omit']);
    expect(await bashComplete(['cmdb-bulk', 'config', 'check', '--service', ''])).toEqual(['all', 'cmdb', 'feishu']);
  });

  it('zsh: every option of create-inst is in the script', async () => {
    const script = (await runCli(['completion', 'zsh'])).stdout;
    const line = script.split('\n').find((l) => l.trim().startsWith('create-inst)'));
    expect(line).toBeDefined();
    const offered = line!.match(/--[a-z][\w-]*/g) ?? [];
    const listed = (await helpOptions('create-inst')).filter((o) => o !== '--help');
    expect(offered).toEqual(expect.arrayContaining(listed));
  });
});
