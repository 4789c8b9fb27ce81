/** The commands that are not data loads: sim, config check, completion. Implementations: src/cli/other-commands.ts. */
import { choice, int, negatable, number, on, text, type Values } from '../flags.js';
import type { CommandManifest } from './manifest.js';
import { cmdbFlags, targetFlags } from './shared.js';

const share = { min: 0, max: 1 } as const;

const simOwn = {
  port: int('--port <n>', { help: 'port (0 = any free port)', default: 0, min: 0, max: 65535 }),
  latency: int('--latency <ms>', { help: 'added latency per request', min: 0 }),
  errorRate: number('--error-rate <share>', { ...share, help: 'share of requests answered 5xx (0..1)' }),
  dropRate: number('--drop-rate <share>', { ...share, help: 'share of requests whose connection is dropped (0..1)' }),
  applied504Rate: number('--applied-504-rate <share>', { ...share, help: 'share of writes applied, then answered 504 (0..1)' }),
  seed: int('--seed <n>', { help: 'seed for the faults' }),
  tokenTtl: int('--token-ttl <seconds>', { help: 'Feishu tenant token lifetime', min: 0 }),
  rateLimit: negatable('--no-rate-limit', { help: 'do not enforce the rate windows' }),
};
export type SimOptions = Values<typeof simOwn>;

export const sim: CommandManifest<typeof simOwn> = {
  name: 'sim',
  summary: 'start the built-in simulator of CMDB (ESB and apigw) and Feishu aPaaS on 127.0.0.1',
  args: [],
  groups: [],
  own: simOwn,
  examples: ['cmdb-bulk sim --port 8080            # then paste the export lines it prints', 'cmdb-bulk sim --latency 200 --error-rate 0.05 --seed 3'],
  run: async () => (await import('../other-commands.js')).simAction,
};

const checkOwn = {
  service: choice('--service <name>', ['cmdb', 'feishu', 'all'], { help: 'which service to check', default: 'all' }),
  obj: text('--obj <bk_obj_id>', { help: 'model to read for the CMDB check', default: 'host' }),
  json: on('--json', { help: 'print the result as JSON' }),
};
export type ConfigCheckOptions = Values<typeof checkOwn> & Values<typeof targetFlags.flags> & Partial<Values<typeof cmdbFlags.flags>>;

export const configCheck: CommandManifest<typeof checkOwn> = {
  name: 'config check',
  summary: 'show the settings in effect (secrets masked) and prove the credentials with a read-only call',
  args: [],
  groups: [targetFlags, cmdbFlags],
  own: checkOwn,
  examples: ['cmdb-bulk config check', 'cmdb-bulk config check --service cmdb --profile prod'],
  run: async () => (await import('../other-commands.js')).configCheckAction,
};

export const completion: CommandManifest<Record<string, never>> = {
  name: 'completion',
  summary: 'print a shell completion script: eval "$(cmdb-bulk completion bash)"',
  args: [{ spec: '<shell>', help: 'bash or zsh' }],
  groups: [],
  own: {},
  examples: ['eval "$(cmdb-bulk completion bash)"    # in ~/.bashrc', 'eval "$(cmdb-bulk completion zsh)"     # in ~/.zshrc, after compinit'],
  run: async () => (await import('../other-commands.js')).completionAction,
};
