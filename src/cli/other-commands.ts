/** The commands that are not data loads: sim, config check, completion. */
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { describeSettings, resolveCmdbSettings, resolveFeishuSettings } from '../config/settings.js';
import { completionScript, completionSpec } from '../config/completion.js';
import { colorEnabled, painter } from '../ui/color.js';
import { connectCmdb, connectFeishu } from './connect.js';
import type { ConnectOptions } from './manifests/shared.js';
import type { ConfigCheckOptions, SimOptions } from './manifests/tools.js';

export async function simAction(opts: SimOptions): Promise<number> {
  const { runSimCommand } = await import('../sim/cli.js');
  const { rateLimit, ...rest } = opts;
  await runSimCommand({ ...rest, noRateLimit: !rateLimit }, process.stdout);
  return EXIT.OK;
}

interface CheckResult {
  service: string;
  settings: string[];
  ok: boolean;
  message: string;
  exitCode: number;
}

/** A check makes one read-only call: few retries, a short timeout, one request at a time. */
const CHECK_SENDING = { retries: 1, retryDelay: 200, timeout: 15, concurrency: 1 };

export async function configCheckAction(opts: ConfigCheckOptions): Promise<number> {
  const env = process.env;
  const warnings: string[] = [];
  const warn = (l: string) => warnings.push(l);
  const connectOptions: ConnectOptions = { ...opts, ...CHECK_SENDING };
  const io = { env, warn, trace: () => {}, onWait: () => {} };
  const which = opts.service;
  const results: CheckResult[] = [];

  if (which !== 'feishu') {
    const settings = opts.sandbox ? ['(sandbox: the built-in simulator)'] : describeSettings(await resolveCmdbSettings({ flags: opts, env, warn }));
    results.push({ service: 'cmdb', settings, ...(await probe(async () => {
      const conn = await connectCmdb(connectOptions, io);
      try {
        const env = await conn.cmdb!.call('search_object_attribute', { bk_obj_id: opts.obj }, { idempotent: true });
        // A read that must succeed: any refusal fails the check.
        if (!env.result) throw new CliError(`CMDB refused the check's read (search_object_attribute): ${env.message} (code ${env.code})`, EXIT.AUTH);
        return `read ${Array.isArray(env.data) ? env.data.length : 0} attributes of model ${opts.obj}: the credentials work`;
      } finally {
        await conn.close();
      }
    })) });
  }
  if (which !== 'cmdb') {
    const settings = opts.sandbox ? ['(sandbox: the built-in simulator)'] : describeSettings(await resolveFeishuSettings({ flags: opts, env, warn }));
    results.push({ service: 'feishu', settings, ...(await probe(async () => {
      const conn = await connectFeishu(connectOptions, io);
      try {
        // A query of one record proves the token; an unknown object answers with a business code, which is fine here.
        const env = await conn.feishu!.records('batch_query', 'package_demo__c', 'device', { select: ['_id'], page_size: 1 }, { idempotent: true });
        return `tenant token obtained; a read-only query answered code ${env.code}`;
      } finally {
        await conn.close();
      }
    })) });
  }

  const ok = results.every((r) => r.ok);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ok, results, warnings }) + '\n');
  } else {
    const paint = painter(colorEnabled({ stream: process.stderr, env }));
    for (const w of warnings) process.stderr.write(paint.warn(w) + '\n');
    for (const r of results) {
      process.stderr.write(`${paint.bold(r.service)}\n${r.settings.map((l) => `  ${l}`).join('\n')}\n  ${r.ok ? paint.ok('✔ ' + r.message) : paint.fail('✘ ' + r.message)}\n`);
    }
  }
  return ok ? EXIT.OK : Math.max(...results.map((r) => r.exitCode));
}

async function probe(fn: () => Promise<string>): Promise<{ ok: boolean; message: string; exitCode: number }> {
  try {
    return { ok: true, message: await fn(), exitCode: EXIT.OK };
  } catch (e) {
    if (e instanceof CliError) return { ok: false, message: e.message + (e.hint ? ` (${e.hint})` : ''), exitCode: e.exitCode };
    return { ok: false, message: (e as Error).message, exitCode: EXIT.UNREACHABLE };
  }
}

export async function completionAction(_opts: unknown, args: string[]): Promise<number> {
  const shell = args[0];
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`no completion for "${shell}"`, 'use bash or zsh');
  const { commands } = await import('./manifests/index.js');
  process.stdout.write(completionScript(shell, completionSpec(commands)));
  return EXIT.OK;
}
