/**
 * The optional config file with named profiles: where it is, reading it, checking its shape, picking a profile.
 * Error messages name the file, the place in it and the problem, never a value (the file may hold secrets).
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { z } from '../http/zod.js';
import { UsageError } from '../core/errors.js';

/** The keys a profile may hold; secrets come inline or (recommended) as the name of an environment variable. */
function buildSchema(zod: typeof z) {
  const text = zod.string().trim().min(1, 'must not be empty');
  const envName = zod
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable (letters, digits, _), not the secret itself');
  // Either the secret inline or the variable that holds it, not both: which one wins would be a guess.
  const oneOf = (keys: string[]) => (p: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const k of keys) {
      if (p[k] !== undefined && p[`${k}_env`] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [k], message: `give either ${k} or ${k}_env, not both` });
      }
    }
  };
  const cmdb = zod
    .object({
      url: text.optional(),
      gateway: zod.enum(['esb', 'apigw']).optional(),
      app_code: text.optional(),
      app_secret: text.optional(),
      app_secret_env: envName.optional(),
      username: text.optional(),
      token: text.optional(),
      token_env: envName.optional(),
    })
    .strict()
    .superRefine(oneOf(['app_secret', 'token']));
  const feishu = zod
    .object({
      url: text.optional(),
      app_id: text.optional(),
      app_secret: text.optional(),
      app_secret_env: envName.optional(),
    })
    .strict()
    .superRefine(oneOf(['app_secret']));
  const profile = zod.object({ cmdb: cmdb.optional(), feishu: feishu.optional() }).strict();
  return zod
    .object({
      default_profile: text.optional(),
      profiles: zod.record(zod.string(), profile).default({}),
    })
    .strict();
}

export type ConfigFile = z.infer<ReturnType<typeof buildSchema>>;
export type Profile = ConfigFile['profiles'][string];

/** The profile picked for this run, with where it came from (for `Setting.from`). */
export interface LoadedProfile {
  /** Path as shown to the user (home folder as ~). */
  file: string;
  /** Profile name, undefined when the file exists but no profile was selected. */
  name?: string;
  profile: Profile;
}

export interface LoadOptions {
  flags: { profile?: string; config?: string };
  env: NodeJS.ProcessEnv;
  homeDir?: string;
  warn: (msg: string) => void;
}

/** `~/...` for paths under the home folder: shorter, and the same on every user's screen. */
export function displayPath(path: string, home: string): string {
  return home && (path === home || path.startsWith(home + '/')) ? '~' + path.slice(home.length) : path;
}

/**
 * Where the config file is: `--config`, else `$CMDB_BULK_CONFIG`, else `$XDG_CONFIG_HOME/cmdb-bulk/config.json`,
 * else `~/.config/cmdb-bulk/config.json`. `explicit` means the user named it, so it must exist.
 */
export function configPath(o: Pick<LoadOptions, 'flags' | 'env' | 'homeDir'>): { path: string; explicit: boolean; from: string } {
  if (o.flags.config !== undefined) return { path: resolve(o.flags.config), explicit: true, from: '--config' };
  const envPath = o.env.CMDB_BULK_CONFIG?.trim();
  if (envPath) return { path: resolve(envPath), explicit: true, from: 'CMDB_BULK_CONFIG' };
  const xdg = o.env.XDG_CONFIG_HOME?.trim();
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(o.homeDir ?? homedir(), '.config');
  return { path: join(base, 'cmdb-bulk', 'config.json'), explicit: false, from: 'default' };
}

/** Read, parse and check the file; undefined when the default file does not exist. */
export async function readConfigFile(o: LoadOptions): Promise<{ path: string; file: string; config: ConfigFile } | undefined> {
  const home = o.homeDir ?? homedir();
  const where = configPath(o);
  const file = displayPath(where.path, home);
  let text: string;
  try {
    text = await readFile(where.path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !where.explicit) return undefined;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : code ?? (e as Error).message;
    throw new UsageError(`cannot read config file ${file} (from ${where.from}): ${why}`);
  }
  const data = parseJson(text.replace(/^\uFEFF/, ''), file);
  const { z: zod } = await import('../http/zod.js'); // loaded only when there is a file: most CI runs use the environment
  const parsed = buildSchema(zod).safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new UsageError(`config file ${file} is not valid:\n${lines.join('\n')}`, 'see docs/configuration.md for the shape');
  }
  await checkPermissions(where.path, file, parsed.data, o.warn);
  return { path: where.path, file, config: parsed.data };
}

/** Pick the profile: `--profile`, else `$CMDB_BULK_PROFILE`, else the file's `default_profile`, else one named "default". */
export async function loadProfile(o: LoadOptions): Promise<LoadedProfile | undefined> {
  const read = await readConfigFile(o);
  const envProfile = o.env.CMDB_BULK_PROFILE?.trim() || undefined;
  const asked = o.flags.profile !== undefined ? { name: o.flags.profile, from: '--profile' } : envProfile ? { name: envProfile, from: 'CMDB_BULK_PROFILE' } : undefined;
  if (!read) {
    if (asked) {
      const where = displayPath(configPath(o).path, o.homeDir ?? homedir());
      throw new UsageError(`profile "${asked.name}" (from ${asked.from}) not found: there is no config file at ${where}`, 'create it (see docs/configuration.md) or name one with --config');
    }
    return undefined;
  }
  const { file, config } = read;
  const known = Object.keys(config.profiles);
  const knownText = known.length ? `known profiles: ${known.join(', ')}` : 'the file defines no profiles';
  const chosen = asked ?? (config.default_profile !== undefined ? { name: config.default_profile, from: `default_profile in ${file}` } : undefined);
  if (chosen) {
    if (!Object.hasOwn(config.profiles, chosen.name)) {
      throw new UsageError(`unknown profile "${chosen.name}" (from ${chosen.from}) in ${file}`, knownText);
    }
    return { file, name: chosen.name, profile: config.profiles[chosen.name]! };
  }
  if (Object.hasOwn(config.profiles, 'default')) return { file, name: 'default', profile: config.profiles.default! };
  return { file, profile: {} };
}

/** Parse JSON; on failure say where (line and column), but never echo the text, which may hold secrets. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const offset = errorOffset(text, msg);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    // V8's reason without its " in JSON at position N" tail or its quoted copy of the text.
    const reason = /at position \d+/.test(msg)
      ? msg.replace(/\s*in JSON at position \d+.*$/s, '')
      : /Unexpected end/.test(msg)
        ? 'unexpected end of file'
        : 'unexpected character';
    throw new UsageError(`config file ${file} is not valid JSON: ${reason} at line ${line}, column ${column}`);
  }
}

/**
 * The offset JSON.parse stopped at. V8 gives "at position N" for most errors but not for "Unexpected token 'x'",
 * so then find the shortest prefix that fails before its own end (any shorter prefix just runs out of input).
 */
function errorOffset(text: string, msg: string): number {
  const m = /at position (\d+)/.exec(msg);
  if (m) return Number(m[1]);
  if (/Unexpected end/.test(msg)) return text.length;
  const failsInside = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (err) {
      const em = (err as Error).message;
      if (/Unexpected end/.test(em)) return false;
      const p = /at position (\d+)/.exec(em);
      return !p || Number(p[1]) < k;
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsInside(mid)) hi = mid;
    else lo = mid + 1;
  }
  return Math.max(0, lo - 1);
}

const warned = new WeakMap<(msg: string) => void, Set<string>>();

/** Inline secrets in a file others can read are as good as public: warn once per file with the fix. */
async function checkPermissions(path: string, file: string, config: ConfigFile, warn: (msg: string) => void): Promise<void> {
  if (process.platform === 'win32') return;
  const inline = Object.values(config.profiles).some((p) => p.cmdb?.app_secret || p.cmdb?.token || p.feishu?.app_secret);
  if (!inline) return;
  const mode = (await stat(path)).mode;
  if ((mode & 0o077) === 0) return;
  const seen = warned.get(warn) ?? new Set<string>();
  if (seen.has(path)) return;
  seen.add(path);
  warned.set(warn, seen);
  warn(
    `warning: config file ${file} holds a secret and can be read by other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); ` +
      `fix: chmod 600 ${file}, or move the secret to an environment variable named by app_secret_env / token_env`,
  );
}
