/** The commands that are not data loads: sim, config check, completion. */
import type { Command } from 'commander';
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { describeSettings, resolveCmdbSettings, resolveFeishuSettings } from '../config/settings.js';
import { completionScript } from '../config/completion.js';
import { colorEnabled, painter } from '../ui/color.js';
import { connectCmdb, connectFeishu, type ConnectFlags } from './connect.js';

export async function simAction(opts: Record<string, unknown>): Promise<number> {
  const { runSimCommand } = await import('../sim/cli.js');
  await runSimCommand(
    {
      port: opts.port as number,
      latency: opts.latency as number | undefined,
      errorRate: opts.errorRate as number | undefined,
      dropRate: opts.dropRate as number | undefined,
      applied504Rate: opts.applied504Rate as number | undefined,
      seed: opts.seed as number | undefined,
      tokenTtl: opts.tokenTtl as number | undefined,
      noRateLimit: opts.rateLimit === false,
    },
    process.stdout,
  );
  return EXIT.OK;
}

interface CheckResult {
  service: string;
  settings: string[];
  ok: boolean;
  message: string;
  exitCode: number;
}

export async function configCheckAction(opts: Record<string, unknown>): Promise<number> {
  const env = process.env;
  const warnings: string[] = [];
  const warn = (l: string) => warnings.push(l);
  const flags = { url: opts.url as string | undefined, gateway: opts.gateway as string | undefined, profile: opts.profile as string | undefined, config: opts.config as string | undefined };
  const connectFlags: ConnectFlags = { ...flags, retries: 1, retryDelay: 200, timeout: 15, concurrency: 1, sandbox: !!opts.sandbox };
  const io = { env, warn, trace: () => {}, onWait: () => {} };
  const which = opts.service as 'cmdb' | 'feishu' | 'all';
  const results: CheckResult[] = [];

  if (which !== 'feishu') {
    const settings = opts.sandbox ? ['(sandbox: the built-in simulator)'] : describeSettings(await resolveCmdbSettings({ flags, env, warn }));
    results.push({ service: 'cmdb', settings, ...(await probe(async () => {
      const conn = await connectCmdb(connectFlags, io);
      try {
        const env = await conn.cmdb!.call('search_object_attribute', { bk_obj_id: opts.obj as string }, { idempotent: true });
        // A read that must succeed: any refusal fails the check.
        if (!env.result) throw new CliError(`CMDB refused the check's read (search_object_attribute): ${env.message} (code ${env.code})`, EXIT.AUTH);
        return `read ${Array.isArray(env.data) ? env.data.length : 0} attributes of model ${opts.obj}: the credentials work`;
      } finally {
        await conn.close();
      }
    })) });
  }
  if (which !== 'cmdb') {
    const settings = opts.sandbox ? ['(sandbox: the built-in simulator)'] : describeSettings(await resolveFeishuSettings({ flags, env, warn }));
    results.push({ service: 'feishu', settings, ...(await probe(async () => {
      const conn = await connectFeishu(connectFlags, io);
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

export async function completionAction(opts: Record<string, unknown>, cmd: Command): Promise<number> {
  const shell = (opts._args as string[])[0];
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`no completion for "${shell}"`, 'use bash or zsh');
  const program = cmd.parent!;
  const longs = (c: Command) => c.options.map((o) => o.long).filter((l): l is string => !!l);
  const spec = {
    // A command with subcommands (config → check) offers their options too.
    commands: program.commands.map((c) => ({ name: c.name(), options: [...longs(c), ...c.commands.flatMap(longs)] })),
    globalOptions: ['--help', '--version'],
  };
  process.stdout.write(completionScript(shell, spec));
  return EXIT.OK;
}
