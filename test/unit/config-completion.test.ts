import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { longName } from '../../src/cli/flags.js';
import { commands } from '../../src/cli/manifests/index.js';
import { flagsOf } from '../../src/cli/manifests/manifest.js';
import { completionScript, completionSpec, type CompletionSpec } from '../../src/config/completion.js';

const spec: CompletionSpec = {
  commands: [
    {
      name: 'create-inst',
      options: ['--obj', '--format', '--report-format', '--gateway', '--dry-run'],
      values: { '--format': ['csv', 'json', 'ndjson'], '--report-format': ['csv', 'json', 'ndjson'], '--gateway': ['esb', 'apigw'] },
    },
    { name: 'apaas-update', options: ['--namespace', '--object', '--format'] },
    { name: 'sim', options: ['--port', 'no-rate-limit'] },
  ],
  globalOptions: ['--help', '--version'],
};

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cmdb-bulk-completion-'));
  await writeFile(join(dir, 'switches.csv'), 'a\n');
  await writeFile(join(dir, 'switches.json'), '[]');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bash completion', () => {
  const script = completionScript('bash', spec);

  it('names every command and option and registers with complete -F', () => {
    for (const c of spec.commands) expect(script).toContain(c.name);
    for (const o of ['--obj', '--format', '--report-format', '--gateway', '--dry-run', '--namespace', '--object', '--port', '--no-rate-limit', '--help', '--version']) {
      expect(script).toContain(o);
    }
    expect(script).toContain('complete -F _cmdb_bulk cmdb-bulk');
  });

  it('passes bash -n', async () => {
    const file = join(dir, 'completion.bash');
    await writeFile(file, script);
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  /** Source the script in a real bash, complete the given words (the last is the one being typed). */
  function complete(...words: string[]): string[] {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync(
      'bash',
      ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _cmdb_bulk; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { cwd: dir, encoding: 'utf8' },
    );
    return out.split('\n').filter(Boolean).sort();
  }

  it('completes commands, then that command\'s options plus the global ones', () => {
    expect(complete('cmdb-bulk', '')).toEqual(['apaas-update', 'create-inst', 'sim']);
    expect(complete('cmdb-bulk', 'cr')).toEqual(['create-inst']);
    expect(complete('cmdb-bulk', 'sim', '--')).toEqual(['--help', '--no-rate-limit', '--port', '--version']);
    expect(complete('cmdb-bulk', '--url', 'http://x', 'apaas-update', '--n')).toEqual(['--namespace']);
  });

  it('completes the values of --format, --report-format and --gateway', () => {
    expect(complete('cmdb-bulk', 'create-inst', '--format', '')).toEqual(['csv', 'json', 'ndjson']);
    expect(complete('cmdb-bulk', 'create-inst', '--report-format', 'nd')).toEqual(['ndjson']);
    expect(complete('cmdb-bulk', 'create-inst', '--gateway', '')).toEqual(['apigw', 'esb']);
  });

  it('completes file names for the input', () => {
    expect(complete('cmdb-bulk', 'create-inst', 'sw')).toEqual(['switches.csv', 'switches.json']);
  });
});

describe('zsh completion', () => {
  const script = completionScript('zsh', spec);

  it('names every command and option and registers with compdef', () => {
    expect(script.startsWith('#compdef cmdb-bulk\n')).toBe(true);
    for (const c of spec.commands) expect(script).toContain(c.name);
    for (const o of ['--obj', '--report-format', '--gateway', '--namespace', '--no-rate-limit', '--help']) expect(script).toContain(o);
    expect(script).toContain('compdef _cmdb_bulk cmdb-bulk');
    expect(script).toContain('compadd -- csv json ndjson');
    expect(script).toContain('compadd -- esb apigw');
    expect(script).toContain('_files');
  });

  it.skipIf(!has('zsh'))('passes zsh -n', async () => {
    const file = join(dir, '_cmdb-bulk');
    await writeFile(file, script);
    const r = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  /** Run the script in zsh with compadd/_files stubbed to print what they would offer (unfiltered by PREFIX). */
  function zshComplete(load: string, fn: string, ...words: string[]): string[] {
    const arr = words.map((w) => `'${w}'`).join(' ');
    const code = `${load}
compadd() { shift; print -l -- "$@" }
_files() { print FILES }
words=(${arr}); CURRENT=${words.length}; PREFIX='${words[words.length - 1]}'; ${fn}`;
    return execFileSync('zsh', ['-fc', code], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  }

  it.skipIf(!has('zsh'))('registers with compdef when eval\'d, and completes commands, options, values and files', async () => {
    const file = join(dir, 'eval.zsh');
    await writeFile(file, script);
    // compdef stubbed too: compinit would scan every completion function on the machine (seconds).
    const load = `compdef() { print -r -- "REG=$1 $2" }; eval "$(cat ${file})"`;
    expect(zshComplete(load, '_cmdb_bulk', 'cmdb-bulk', '')).toEqual(['REG=_cmdb_bulk cmdb-bulk', 'apaas-update', 'create-inst', 'sim']);
    expect(zshComplete(load, '_cmdb_bulk', 'cmdb-bulk', 'sim', '--')).toEqual(['--help', '--no-rate-limit', '--port', '--version', 'REG=_cmdb_bulk cmdb-bulk']);
    expect(zshComplete(load, '_cmdb_bulk', 'cmdb-bulk', 'create-inst', '--gateway', '')).toEqual(['REG=_cmdb_bulk cmdb-bulk', 'apigw', 'esb']);
    expect(zshComplete(load, '_cmdb_bulk', 'cmdb-bulk', 'create-inst', 'sw')).toEqual(['FILES', 'REG=_cmdb_bulk cmdb-bulk']);
  });

  it.skipIf(!has('zsh'))('works when autoloaded from $fpath as _cmdb-bulk', async () => {
    const fdir = join(dir, 'zfunc');
    await mkdir(fdir, { recursive: true });
    await writeFile(join(fdir, '_cmdb-bulk'), script);
    // As compinit does for a #compdef file: autoload it under its file name; it must complete, not register.
    const load = `compdef() { print -r -- "REG=$1 $2" }; fpath=(${fdir}); autoload -U _cmdb-bulk`;
    expect(zshComplete(load, '_cmdb-bulk', 'cmdb-bulk', '')).toEqual(['apaas-update', 'create-inst', 'sim']);
    expect(zshComplete(load, '_cmdb-bulk', 'cmdb-bulk', 'sim', '--p')).toEqual(['--help', '--no-rate-limit', '--port', '--version']);
  });
});

describe('input checks', () => {
  it('refuses names that would inject shell code', () => {
    expect(() => completionScript('bash', { commands: [{ name: 'x; rm -rf ~', options: [] }], globalOptions: [] })).toThrow(/not a command name/);
    expect(() => completionScript('zsh', { commands: [{ name: 'ok', options: ['--a$(id)'] }], globalOptions: [] })).toThrow(/not an option name/);
    expect(() => completionScript('bash', { commands: [{ name: 'ok', options: ['--a'], values: { '--a': ['x`id`'] } }], globalOptions: [] })).toThrow(/not a value/);
  });

  it('still gives a valid bash script with no commands', async () => {
    const file = join(dir, 'empty.bash');
    await writeFile(file, completionScript('bash', { commands: [], globalOptions: ['--help'] }));
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
  });
});

describe('the spec made from the command manifests', () => {
  const made = completionSpec(commands);
  const of = (name: string) => made.commands.find((c) => c.name === name)!;

  it('offers every declared flag of every command, and --help', () => {
    for (const m of commands) {
      const offered = of(m.name.split(' ')[0]!).options;
      for (const f of Object.values(flagsOf(m))) expect(offered, m.name).toContain(longName(f));
      expect(offered, m.name).toContain('--help');
    }
    // the shared groups, not only the command's own flags (once only --obj --key were offered for create-inst)
    expect(of('create-inst').options).toEqual(expect.arrayContaining(['--obj', '--key', '--timeout', '--concurrency', '--resume', '--gateway', '--no-schema', '--quiet']));
    expect(of('apaas-update').options).not.toContain('--gateway');
  });

  it('takes the values of each choice flag from its declaration, per command', () => {
    expect(of('create-inst').values).toMatchObject({ '--format': ['csv', 'json', 'ndjson', 'xlsx'], '--empty': ['omit', 'null'], '--gateway': ['esb', 'apigw'] });
    expect(of('config').values).toMatchObject({ '--service': ['cmdb', 'feishu', 'all'] });
    expect(of('sim').values).toEqual({});
  });
});
