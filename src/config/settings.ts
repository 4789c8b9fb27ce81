/**
 * Where the tool sends and who it is. Each setting comes from the first of: flag, environment, config file
 * profile, default; and remembers which, so `config check` and error messages can say so. Secret values are
 * never put into a message: only whether they are set and how long they are.
 */
import { homedir } from 'node:os';
import { UsageError, AuthError } from '../core/errors.js';
import type { TargetOptions } from '../cli/manifests/shared.js';
import { loadProfile, type LoadedProfile } from './file.js';

export type Source = 'flag' | 'env' | 'file' | 'default' | 'sandbox';
export interface Setting<T = string> {
  value: T | undefined;
  source: Source;
  /** e.g. 'CMDB_URL', '--url', '~/.config/cmdb-bulk/config.json profile prod'. */
  from?: string;
  secret: boolean;
}
export interface CmdbSettings {
  url: Setting;
  gateway: Setting<'esb' | 'apigw'>;
  appCode: Setting;
  appSecret: Setting;
  username: Setting;
  token: Setting;
}
export interface FeishuSettings {
  url: Setting;
  appId: Setting;
  appSecret: Setting;
}
export interface ResolveInput {
  flags: Pick<TargetOptions, 'url' | 'profile' | 'config'> & { gateway?: string };
  env: NodeJS.ProcessEnv;
  /** Default os.homedir(); XDG_CONFIG_HOME (from `env`) is honoured. */
  homeDir?: string;
  warn?: (msg: string) => void;
}

export const FEISHU_DEFAULT_URL = 'https://open.feishu.cn';

const defaultWarn = (msg: string): void => {
  process.stderr.write(msg + '\n');
};

type Candidate = Omit<Setting, 'secret'>;

function flag(name: string, value: string | undefined): Candidate | undefined {
  return value === undefined ? undefined : { value: value.trim(), source: 'flag', from: name };
}

/** An empty environment variable counts as unset (`BK_TOKEN= cmdb-bulk ...` is how people unset one for a run). */
function env(e: NodeJS.ProcessEnv, name: string): Candidate | undefined {
  const v = e[name]?.trim();
  return v ? { value: v, source: 'env', from: name } : undefined;
}

/** A key of the selected profile; for secrets also `<key>_env`, the name of the variable holding the value. */
function file(p: LoadedProfile | undefined, section: 'cmdb' | 'feishu', key: string, e: NodeJS.ProcessEnv): Candidate | undefined {
  if (!p) return undefined;
  const values = (p.profile[section] ?? {}) as Record<string, string | undefined>;
  const where = p.name ? `${p.file} profile ${p.name}` : p.file;
  if (values[key] !== undefined) return { value: values[key], source: 'file', from: where };
  const varName = values[`${key}_env`];
  if (varName === undefined) return undefined;
  const v = e[varName]?.trim();
  // Kept even when unset, so a "missing" message can say which variable the profile points at.
  return { value: v || undefined, source: 'file', from: `${where} via $${varName}${v ? '' : ' (not set)'}` };
}

function first(secret: boolean, ...candidates: (Candidate | undefined)[]): Setting {
  const found = candidates.find((c) => c?.value !== undefined) ?? candidates.find((c) => c?.source === 'file');
  return found ? { ...found, secret } : { value: undefined, source: 'default', secret };
}

/** Check a base URL and tidy it: http(s) only, no credentials, query or fragment; no trailing slash. */
function checkUrl(s: Setting, label: string): Setting {
  if (s.value === undefined) return s;
  const where = describeOrigin(s);
  let u: URL;
  try {
    u = new URL(s.value);
  } catch {
    throw new UsageError(`${label} (${where}) is not a URL: "${s.value}"`, 'expected e.g. https://bkapi.example.com/api/bk-cmdb/prod');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`${label} (${where}) must be an http:// or https:// URL, not ${u.protocol}`);
  }
  if (u.username || u.password) {
    throw new UsageError(`${label} (${where}) must not contain a user name or password`, 'credentials go in their own settings, see docs/configuration.md');
  }
  if (u.search || u.hash) throw new UsageError(`${label} (${where}) must be a base URL, without ? or #`);
  let path = u.pathname.replace(/\/+$/, '');
  // A pasted endpoint prefix is taken off: the tool appends it itself.
  path = path.replace(/\/api\/c\/compapi\/v2\/cc$/, '').replace(/\/api\/v3$/, '');
  return { ...s, value: `${u.protocol}//${u.host}${path}` };
}

/** apigw when the URL path has the gateway's `/api/bk-cmdb/` prefix, else ESB (PRODUCT.md). */
export function defaultGatewayFor(url: string | undefined): 'esb' | 'apigw' {
  if (!url) return 'esb';
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL: look at the text as is
  }
  return (path + '/').includes('/api/bk-cmdb/') ? 'apigw' : 'esb';
}

function gateway(c: Candidate | undefined, url: string | undefined): Setting<'esb' | 'apigw'> {
  if (c?.value === undefined) {
    const g = defaultGatewayFor(url);
    return { value: g, source: 'default', from: g === 'apigw' ? 'URL path contains /api/bk-cmdb/' : 'URL path has no /api/bk-cmdb/', secret: false };
  }
  const v = c.value.toLowerCase();
  if (v !== 'esb' && v !== 'apigw') {
    throw new UsageError(`CMDB gateway (${describeOrigin({ ...c, secret: false })}) must be esb or apigw, not "${c.value}"`);
  }
  return { ...c, value: v, secret: false };
}

async function profileOf(i: ResolveInput): Promise<LoadedProfile | undefined> {
  return loadProfile({ flags: i.flags, env: i.env, homeDir: i.homeDir ?? homedir(), warn: i.warn ?? defaultWarn });
}

export async function resolveCmdbSettings(i: ResolveInput): Promise<CmdbSettings> {
  const p = await profileOf(i);
  const e = i.env;
  const url = checkUrl(first(false, flag('--url', i.flags.url), env(e, 'CMDB_URL'), file(p, 'cmdb', 'url', e)), 'CMDB URL');
  return {
    url,
    gateway: gateway(flag('--gateway', i.flags.gateway) ?? env(e, 'CMDB_GATEWAY') ?? file(p, 'cmdb', 'gateway', e), url.value),
    appCode: first(false, env(e, 'BK_APP_CODE'), file(p, 'cmdb', 'app_code', e)),
    appSecret: first(true, env(e, 'BK_APP_SECRET'), file(p, 'cmdb', 'app_secret', e)),
    username: first(false, env(e, 'BK_USERNAME'), file(p, 'cmdb', 'username', e)),
    token: first(true, env(e, 'BK_TOKEN'), file(p, 'cmdb', 'token', e)),
  };
}

export async function resolveFeishuSettings(i: ResolveInput): Promise<FeishuSettings> {
  const p = await profileOf(i);
  const e = i.env;
  const fallback: Candidate = { value: FEISHU_DEFAULT_URL, source: 'default' };
  return {
    url: checkUrl(first(false, flag('--url', i.flags.url), env(e, 'FEISHU_URL'), file(p, 'feishu', 'url', e), fallback), 'Feishu URL'),
    appId: first(false, env(e, 'FEISHU_APP_ID'), file(p, 'feishu', 'app_id', e)),
    appSecret: first(true, env(e, 'FEISHU_APP_SECRET'), file(p, 'feishu', 'app_secret', e)),
  };
}

/** What a missing setting is and every place it can be set. */
const WHERE = {
  url: 'CMDB base URL: --url, env CMDB_URL, or cmdb.url in a config profile',
  appCode: 'app code: env BK_APP_CODE, or cmdb.app_code in a config profile',
  appSecret: 'app secret: env BK_APP_SECRET, or cmdb.app_secret_env (the name of a variable holding it) in a config profile',
  user: 'user: env BK_USERNAME or BK_TOKEN, or cmdb.username / cmdb.token_env in a config profile',
  feishuUrl: 'Feishu base URL: --url, env FEISHU_URL, or feishu.url in a config profile',
  appId: 'app id: env FEISHU_APP_ID, or feishu.app_id in a config profile',
  feishuSecret: 'app secret: env FEISHU_APP_SECRET, or feishu.app_secret_env (the name of a variable holding it) in a config profile',
};

function missing(service: string, items: [Setting, string][]): void {
  const lines = items
    .filter(([s]) => s.value === undefined)
    // A profile that points at an unset variable is the likely culprit: say so.
    .map(([s, where]) => `  - ${where}${s.source === 'file' ? ` (${describeOrigin(s)})` : ''}`);
  if (lines.length) {
    throw new AuthError(`${service} is not configured; missing:\n${lines.join('\n')}`, 'see docs/configuration.md, or add --sandbox to try against the built-in simulator');
  }
}

/** The settings a CMDB run needs, or an AuthError (exit 4) naming every missing one and where to set it. */
export function requireCmdb(s: CmdbSettings): { url: string; gateway: 'esb' | 'apigw'; appCode: string; appSecret: string; username?: string; token?: string } {
  // Username or token: one is enough; report the pair as one item, pointing at an unset *_env if there is one.
  const user = s.token.source === 'file' ? s.token : s.username;
  missing('CMDB', [
    [s.url, WHERE.url],
    [s.appCode, WHERE.appCode],
    [s.appSecret, WHERE.appSecret],
    [{ ...user, value: s.username.value ?? s.token.value }, WHERE.user],
  ]);
  return {
    url: s.url.value!,
    gateway: s.gateway.value ?? defaultGatewayFor(s.url.value),
    appCode: s.appCode.value!,
    appSecret: s.appSecret.value!,
    ...(s.username.value !== undefined ? { username: s.username.value } : {}),
    ...(s.token.value !== undefined ? { token: s.token.value } : {}),
  };
}

/** The settings a Feishu run needs, or an AuthError (exit 4) naming every missing one and where to set it. */
export function requireFeishu(s: FeishuSettings): { url: string; appId: string; appSecret: string } {
  missing('Feishu', [
    [s.url, WHERE.feishuUrl],
    [s.appId, WHERE.appId],
    [s.appSecret, WHERE.feishuSecret],
  ]);
  return { url: s.url.value!, appId: s.appId.value!, appSecret: s.appSecret.value! };
}

/** A secret as it may be shown: that it is set, and its length (to spot a truncated paste). */
export function maskValue(v: string): string {
  return `set (****, ${v.length} chars)`;
}

function describeOrigin(s: Setting<unknown>): string {
  switch (s.source) {
    case 'flag':
      return `from flag ${s.from}`;
    case 'env':
      return `from env ${s.from}`;
    case 'file':
      return `from ${s.from}`;
    case 'sandbox':
      return 'sandbox';
    default:
      return s.from ? `default: ${s.from}` : 'default';
  }
}

/** One line per setting, `NAME  value  (from ...)`, secrets masked: for `config check` and --verbose. */
export function describeSettings(s: CmdbSettings | FeishuSettings): string[] {
  const rows: [string, Setting<string>][] =
    'gateway' in s
      ? [
          ['CMDB_URL', s.url],
          ['CMDB_GATEWAY', s.gateway],
          ['BK_APP_CODE', s.appCode],
          ['BK_APP_SECRET', s.appSecret],
          ['BK_USERNAME', s.username],
          ['BK_TOKEN', s.token],
        ]
      : [
          ['FEISHU_URL', s.url],
          ['FEISHU_APP_ID', s.appId],
          ['FEISHU_APP_SECRET', s.appSecret],
        ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, setting]) => {
    const label = name.padEnd(width);
    if (setting.value === undefined) {
      return setting.source === 'file' ? `${label}  not set  (${describeOrigin(setting)})` : `${label}  not set`;
    }
    const shown = setting.secret ? maskValue(setting.value) : setting.value;
    return `${label}  ${shown}  (${describeOrigin(setting)})`;
  });
}
