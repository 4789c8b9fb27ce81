import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, EXIT, UsageError } from '../../src/core/errors.js';
import {
  describeSettings,
  maskValue,
  requireCmdb,
  requireFeishu,
  resolveCmdbSettings,
  resolveFeishuSettings,
  type ResolveInput,
} from '../../src/config/settings.js';

const SECRET = 'S3cr3t-value-that-must-not-leak';
const TOKEN = 'bk-token-value-that-must-not-leak';
const FEISHU_SECRET = 'feishu-secret-that-must-not-leak';

let home: string;
let warnings: string[];
const warn = (m: string) => warnings.push(m);

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'cmdb-bulk-config-'));
  warnings = [];
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const defaultFile = () => join(home, '.config', 'cmdb-bulk', 'config.json');

async function writeConfig(content: unknown, path = defaultFile(), mode = 0o600): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  await chmod(path, mode);
  return path;
}

function input(flags: ResolveInput['flags'] = {}, env: NodeJS.ProcessEnv = {}): ResolveInput {
  return { flags, env, homeDir: home, warn };
}

/** Runs fn, expects it to throw, returns the error. */
async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const prodProfile = {
  cmdb: { url: 'https://file.example.com/api/bk-cmdb/prod', gateway: 'esb', app_code: 'file-code', app_secret: 'file-secret', username: 'file-user', token: 'file-token' },
  feishu: { url: 'https://open.larksuite.com', app_id: 'file-app', app_secret: 'file-fsecret' },
};

describe('precedence: flag > env > file > default', () => {
  it('takes every CMDB setting from the file when nothing else is set', async () => {
    await writeConfig({ default_profile: 'prod', profiles: { prod: prodProfile } });
    const s = await resolveCmdbSettings(input());
    const from = '~/.config/cmdb-bulk/config.json profile prod';
    expect(s.url).toEqual({ value: 'https://file.example.com/api/bk-cmdb/prod', source: 'file', from, secret: false });
    expect(s.gateway).toEqual({ value: 'esb', source: 'file', from, secret: false });
    expect(s.appCode).toMatchObject({ value: 'file-code', source: 'file', from });
    expect(s.appSecret).toEqual({ value: 'file-secret', source: 'file', from, secret: true });
    expect(s.username).toMatchObject({ value: 'file-user', source: 'file' });
    expect(s.token).toEqual({ value: 'file-token', source: 'file', from, secret: true });
  });

  it('environment beats the file for every CMDB setting', async () => {
    await writeConfig({ default_profile: 'prod', profiles: { prod: prodProfile } });
    const env = {
      CMDB_URL: 'http://env.example.com',
      CMDB_GATEWAY: 'apigw',
      BK_APP_CODE: 'env-code',
      BK_APP_SECRET: SECRET,
      BK_USERNAME: 'env-user',
      BK_TOKEN: TOKEN,
    };
    const s = await resolveCmdbSettings(input({}, env));
    expect(s.url).toEqual({ value: 'http://env.example.com', source: 'env', from: 'CMDB_URL', secret: false });
    expect(s.gateway).toEqual({ value: 'apigw', source: 'env', from: 'CMDB_GATEWAY', secret: false });
    expect(s.appCode).toMatchObject({ value: 'env-code', source: 'env', from: 'BK_APP_CODE' });
    expect(s.appSecret).toEqual({ value: SECRET, source: 'env', from: 'BK_APP_SECRET', secret: true });
    expect(s.username).toMatchObject({ value: 'env-user', source: 'env', from: 'BK_USERNAME' });
    expect(s.token).toEqual({ value: TOKEN, source: 'env', from: 'BK_TOKEN', secret: true });
  });

  it('flags beat the environment', async () => {
    await writeConfig({ default_profile: 'prod', profiles: { prod: prodProfile } });
    const s = await resolveCmdbSettings(input({ url: 'https://flag.example.com/', gateway: 'esb' }, { CMDB_URL: 'http://env.example.com', CMDB_GATEWAY: 'apigw' }));
    expect(s.url).toEqual({ value: 'https://flag.example.com', source: 'flag', from: '--url', secret: false });
    expect(s.gateway).toEqual({ value: 'esb', source: 'flag', from: '--gateway', secret: false });
  });

  it('leaves unset settings undefined with source default, and treats empty variables as unset', async () => {
    const s = await resolveCmdbSettings(input({}, { BK_APP_SECRET: '', BK_USERNAME: '   ' }));
    expect(s.url).toEqual({ value: undefined, source: 'default', secret: false });
    expect(s.appSecret).toEqual({ value: undefined, source: 'default', secret: true });
    expect(s.username.value).toBeUndefined();
    expect(s.gateway).toMatchObject({ value: 'esb', source: 'default' });
  });

  it('Feishu: flag > env > file > default URL, and credentials env > file', async () => {
    expect((await resolveFeishuSettings(input())).url).toEqual({ value: 'https://open.feishu.cn', source: 'default', secret: false });
    await writeConfig({ default_profile: 'prod', profiles: { prod: prodProfile } });
    const fromFile = await resolveFeishuSettings(input());
    expect(fromFile.url).toMatchObject({ value: 'https://open.larksuite.com', source: 'file' });
    expect(fromFile.appId).toMatchObject({ value: 'file-app', source: 'file' });
    expect(fromFile.appSecret).toMatchObject({ value: 'file-fsecret', source: 'file', secret: true });
    const env = { FEISHU_URL: 'http://127.0.0.1:9/', FEISHU_APP_ID: 'env-app', FEISHU_APP_SECRET: FEISHU_SECRET };
    const fromEnv = await resolveFeishuSettings(input({}, env));
    expect(fromEnv.url).toEqual({ value: 'http://127.0.0.1:9', source: 'env', from: 'FEISHU_URL', secret: false });
    expect(fromEnv.appId).toMatchObject({ value: 'env-app', source: 'env', from: 'FEISHU_APP_ID' });
    expect(fromEnv.appSecret).toMatchObject({ value: FEISHU_SECRET, source: 'env', from: 'FEISHU_APP_SECRET' });
    const fromFlag = await resolveFeishuSettings(input({ url: 'https://flag.example.com' }, env));
    expect(fromFlag.url).toMatchObject({ value: 'https://flag.example.com', source: 'flag', from: '--url' });
  });
});

describe('*_env indirection', () => {
  const profile = {
    cmdb: { url: 'http://cmdb.local', app_code: 'c', app_secret_env: 'PROD_BK_SECRET', token_env: 'PROD_BK_TOKEN' },
    feishu: { app_id: 'a', app_secret_env: 'FEISHU_SECRET_PROD' },
  };

  it('reads the secret from the variable the profile names', async () => {
    await writeConfig({ profiles: { default: profile } });
    const env = { PROD_BK_SECRET: SECRET, PROD_BK_TOKEN: TOKEN, FEISHU_SECRET_PROD: FEISHU_SECRET };
    const s = await resolveCmdbSettings(input({}, env));
    expect(s.appSecret).toEqual({ value: SECRET, source: 'file', from: '~/.config/cmdb-bulk/config.json profile default via $PROD_BK_SECRET', secret: true });
    expect(s.token.value).toBe(TOKEN);
    expect((await resolveFeishuSettings(input({}, env))).appSecret.value).toBe(FEISHU_SECRET);
  });

  it('the standard variable still beats the profile', async () => {
    await writeConfig({ profiles: { default: profile } });
    const s = await resolveCmdbSettings(input({}, { PROD_BK_SECRET: 'from-indirection', BK_APP_SECRET: SECRET }));
    expect(s.appSecret).toMatchObject({ value: SECRET, source: 'env', from: 'BK_APP_SECRET' });
  });

  it('an unset variable leaves the setting missing, and requireCmdb names the variable', async () => {
    await writeConfig({ profiles: { default: profile } });
    const s = await resolveCmdbSettings(input());
    expect(s.appSecret.value).toBeUndefined();
    expect(s.appSecret.source).toBe('file');
    const e = await caught(() => requireCmdb(s));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toContain('$PROD_BK_SECRET (not set)');
    expect(e.message).toContain('$PROD_BK_TOKEN (not set)');
  });
});

describe('profile selection', () => {
  const cfg = {
    default_profile: 'prod',
    profiles: {
      prod: { cmdb: { url: 'https://prod.example.com' } },
      test: { cmdb: { url: 'https://test.example.com' } },
      default: { cmdb: { url: 'https://default.example.com' } },
    },
  };

  it('uses default_profile, then --profile, then CMDB_BULK_PROFILE', async () => {
    await writeConfig(cfg);
    expect((await resolveCmdbSettings(input())).url).toMatchObject({ value: 'https://prod.example.com', from: '~/.config/cmdb-bulk/config.json profile prod' });
    expect((await resolveCmdbSettings(input({ profile: 'test' }))).url.value).toBe('https://test.example.com');
    expect((await resolveCmdbSettings(input({}, { CMDB_BULK_PROFILE: 'test' }))).url.value).toBe('https://test.example.com');
    expect((await resolveCmdbSettings(input({ profile: 'prod' }, { CMDB_BULK_PROFILE: 'test' }))).url.value).toBe('https://prod.example.com');
  });

  it('falls back to a profile named "default", else uses no profile', async () => {
    await writeConfig({ profiles: cfg.profiles });
    expect((await resolveCmdbSettings(input())).url.value).toBe('https://default.example.com');
    await writeConfig({ profiles: { prod: cfg.profiles.prod } });
    expect((await resolveCmdbSettings(input())).url.value).toBeUndefined();
  });

  it('an unknown profile is a usage error listing the known ones', async () => {
    await writeConfig(cfg);
    const e = await caught(() => resolveCmdbSettings(input({ profile: 'staging' })));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(EXIT.USAGE);
    expect(e.message).toContain('"staging"');
    expect((e as UsageError).hint).toBe('known profiles: prod, test, default');
  });

  it('a default_profile that does not exist is a usage error', async () => {
    await writeConfig({ default_profile: 'gone', profiles: { prod: {} } });
    const e = await caught(() => resolveCmdbSettings(input()));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/unknown profile "gone" \(from default_profile/);
  });

  it('--profile without any config file is a usage error; no file and no profile is fine', async () => {
    expect((await resolveCmdbSettings(input())).url.value).toBeUndefined();
    const e = await caught(() => resolveCmdbSettings(input({ profile: 'prod' })));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('no config file at ~/.config/cmdb-bulk/config.json');
  });
});

describe('finding the file', () => {
  it('--config names the file, and a missing one is a usage error', async () => {
    const path = await writeConfig({ profiles: { default: { cmdb: { url: 'https://explicit.example.com' } } } }, join(home, 'elsewhere.json'));
    const s = await resolveCmdbSettings(input({ config: path }));
    expect(s.url).toMatchObject({ value: 'https://explicit.example.com', from: '~/elsewhere.json profile default' });
    const e = await caught(() => resolveCmdbSettings(input({ config: join(home, 'missing.json') })));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('~/missing.json');
    expect(e.message).toContain('no such file');
  });

  it('honours XDG_CONFIG_HOME over ~/.config', async () => {
    await writeConfig({ profiles: { default: { cmdb: { url: 'https://home.example.com' } } } });
    const xdg = join(home, 'xdg');
    await writeConfig({ profiles: { default: { cmdb: { url: 'https://xdg.example.com' } } } }, join(xdg, 'cmdb-bulk', 'config.json'));
    expect((await resolveCmdbSettings(input({}, { XDG_CONFIG_HOME: xdg }))).url.value).toBe('https://xdg.example.com');
    expect((await resolveCmdbSettings(input({}, { XDG_CONFIG_HOME: 'relative/ignored' }))).url.value).toBe('https://home.example.com');
  });
});

describe('bad files', () => {
  it('reports invalid JSON with line and column, without echoing the content', async () => {
    await writeConfig(`{\n  "profiles": {\n    "p": { "cmdb": { "app_secret": "${SECRET}" } },\n  }\n}\n`);
    const e = await caught(() => resolveCmdbSettings(input()));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('~/.config/cmdb-bulk/config.json is not valid JSON');
    expect(e.message).toContain('line 4, column 3');
    expect(e.message).not.toContain(SECRET);
  });

  it('finds the position also where V8 gives none (unexpected token)', async () => {
    // V8 says `Unexpected token 'x', "<the whole text>" is not valid JSON` here: no position, and a copy of the secret.
    await writeConfig(`{\n  "profiles": { "p": { "cmdb": { "token": "${TOKEN}", "url": x } } }\n}`);
    const e = await caught(() => resolveCmdbSettings(input()));
    expect(e.message).toContain('unexpected character at line 2, column');
    expect(e.message).toContain(`column ${`  "profiles": { "p": { "cmdb": { "token": "${TOKEN}", "url": `.length + 1}`);
    expect(e.message).not.toContain(TOKEN);
  });

  it('reports an empty file as an unexpected end', async () => {
    await writeConfig('');
    expect((await caught(() => resolveCmdbSettings(input()))).message).toContain('unexpected end of file at line 1, column 1');
  });

  it('lists every shape problem with its path, and never the values', async () => {
    await writeConfig({
      default_profile: 'p',
      extra: 1,
      profiles: {
        p: {
          cmdb: { url: 'https://x', gatway: 'esb', gateway: 'soap', app_secret: SECRET, app_secret_env: 'X', token_env: `${TOKEN} with spaces` },
          feishu: { app_id: 42 },
        },
      },
    });
    const e = await caught(() => resolveCmdbSettings(input()));
    expect(e).toBeInstanceOf(UsageError);
    const m = e.message;
    expect(m).toContain('config file ~/.config/cmdb-bulk/config.json is not valid');
    expect(m).toMatch(/\(top level\): .*extra/);
    expect(m).toMatch(/profiles\.p\.cmdb: .*gatway/);
    expect(m).toMatch(/profiles\.p\.cmdb\.gateway: .*esb.*apigw/);
    expect(m).toContain('profiles.p.cmdb.token_env: must be the name of an environment variable');
    expect(m).toMatch(/profiles\.p\.feishu\.app_id: .*string/);
    expect(m).not.toContain(SECRET);
    expect(m).not.toContain(TOKEN);
  });

  it('rejects a secret given both inline and by variable', async () => {
    await writeConfig({ profiles: { p: { cmdb: { app_secret: SECRET, app_secret_env: 'X' }, feishu: { app_secret: SECRET, app_secret_env: 'Y' } } } });
    const e = await caught(() => resolveCmdbSettings(input({ profile: 'p' })));
    expect(e.message).toContain('profiles.p.cmdb.app_secret: give either app_secret or app_secret_env, not both');
    expect(e.message).toContain('profiles.p.feishu.app_secret: give either app_secret or app_secret_env, not both');
    expect(e.message).not.toContain(SECRET);
  });
});

describe('permission warning', () => {
  const inline = { profiles: { default: { cmdb: { url: 'http://x.local', app_secret: SECRET } } } };

  it.skipIf(process.platform === 'win32')('warns once for a group/world-readable file with an inline secret', async () => {
    await writeConfig(inline, defaultFile(), 0o644);
    await resolveCmdbSettings(input());
    await resolveFeishuSettings(input());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('mode 644');
    expect(warnings[0]).toContain('chmod 600 ~/.config/cmdb-bulk/config.json');
    expect(warnings[0]).not.toContain(SECRET);
  });

  it('is silent at 0600, and with only *_env secrets at 0644', async () => {
    await writeConfig(inline, defaultFile(), 0o600);
    await resolveCmdbSettings(input());
    await writeConfig({ profiles: { default: { cmdb: { app_secret_env: 'X', token_env: 'Y' }, feishu: { app_secret_env: 'Z' } } } }, defaultFile(), 0o644);
    await resolveCmdbSettings(input());
    expect(warnings).toEqual([]);
  });
});

describe('URLs and gateway', () => {
  it('derives the gateway from the URL path', async () => {
    const g = async (url: string) => (await resolveCmdbSettings(input({ url }))).gateway;
    expect(await g('https://bkapi.example.com/api/bk-cmdb/prod')).toMatchObject({ value: 'apigw', source: 'default' });
    expect(await g('https://bkapi.example.com/api/bk-cmdb/prod/')).toMatchObject({ value: 'apigw' });
    expect(await g('http://paas.example.com')).toMatchObject({ value: 'esb', source: 'default' });
    expect(await g('http://paas.example.com/api/bk-cmdbx/prod')).toMatchObject({ value: 'esb' });
  });

  it('accepts ESB/APIGW in any case and rejects other gateways', async () => {
    expect((await resolveCmdbSettings(input({ gateway: 'APIGW' }))).gateway.value).toBe('apigw');
    const e = await caught(() => resolveCmdbSettings(input({}, { CMDB_GATEWAY: 'soap' })));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('from env CMDB_GATEWAY');
    expect(e.message).toContain('esb or apigw');
  });

  it('trims trailing slashes and a pasted API prefix', async () => {
    const u = async (url: string) => (await resolveCmdbSettings(input({ url }))).url.value;
    expect(await u('https://paas.example.com///')).toBe('https://paas.example.com');
    expect(await u('https://paas.example.com/api/c/compapi/v2/cc/')).toBe('https://paas.example.com');
    expect(await u('https://bkapi.example.com/api/bk-cmdb/prod/api/v3')).toBe('https://bkapi.example.com/api/bk-cmdb/prod');
  });

  it('rejects non-http URLs naming the setting, and URLs with credentials without echoing them', async () => {
    const bad = await caught(() => resolveCmdbSettings(input({}, { CMDB_URL: 'ftp://x.example.com' })));
    expect(bad).toBeInstanceOf(UsageError);
    expect(bad.message).toContain('CMDB URL (from env CMDB_URL)');
    const notUrl = await caught(() => resolveFeishuSettings(input({ url: 'open.feishu.cn' })));
    expect(notUrl.message).toContain('Feishu URL (from flag --url) is not a URL');
    const creds = await caught(() => resolveCmdbSettings(input({ url: `https://admin:${SECRET}@x.example.com` })));
    expect(creds.message).toContain('must not contain a user name or password');
    expect(creds.message).not.toContain(SECRET);
  });
});

describe('requireCmdb / requireFeishu', () => {
  it('lists every missing CMDB setting with where to set it, and no values', async () => {
    const s = await resolveCmdbSettings(input({}, { BK_APP_SECRET: SECRET }));
    const e = await caught(() => requireCmdb(s));
    expect(e).toBeInstanceOf(AuthError);
    expect((e as AuthError).exitCode).toBe(EXIT.AUTH);
    expect(e.message).toContain('--url, env CMDB_URL, or cmdb.url');
    expect(e.message).toContain('env BK_APP_CODE');
    expect(e.message).toContain('env BK_USERNAME or BK_TOKEN');
    expect(e.message).not.toContain('app secret'); // it is set
    expect(e.message).not.toContain(SECRET);
  });

  it('accepts a token instead of a username and returns plain values', async () => {
    const env = { CMDB_URL: 'https://bkapi.example.com/api/bk-cmdb/prod', BK_APP_CODE: 'code', BK_APP_SECRET: SECRET, BK_TOKEN: TOKEN };
    expect(requireCmdb(await resolveCmdbSettings(input({}, env)))).toEqual({
      url: 'https://bkapi.example.com/api/bk-cmdb/prod',
      gateway: 'apigw',
      appCode: 'code',
      appSecret: SECRET,
      token: TOKEN,
    });
  });

  it('lists missing Feishu credentials, never values', async () => {
    const e = await caught(async () => requireFeishu(await resolveFeishuSettings(input({}, { FEISHU_APP_SECRET: FEISHU_SECRET }))));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toContain('env FEISHU_APP_ID');
    expect(e.message).not.toContain('FEISHU_APP_SECRET');
    expect(e.message).not.toContain(FEISHU_SECRET);
    const ok = requireFeishu(await resolveFeishuSettings(input({}, { FEISHU_APP_ID: 'cli_1', FEISHU_APP_SECRET: FEISHU_SECRET })));
    expect(ok).toEqual({ url: 'https://open.feishu.cn', appId: 'cli_1', appSecret: FEISHU_SECRET });
  });
});

describe('describeSettings', () => {
  it('shows each setting with its origin and masks secrets', async () => {
    const env = { CMDB_URL: 'http://cmdb.local', BK_APP_CODE: 'code', BK_APP_SECRET: SECRET, BK_TOKEN: TOKEN };
    const lines = describeSettings(await resolveCmdbSettings(input({ gateway: 'esb' }, env)));
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^CMDB_URL +http:\/\/cmdb\.local +\(from env CMDB_URL\)$/);
    expect(lines[1]).toMatch(/^CMDB_GATEWAY +esb +\(from flag --gateway\)$/);
    expect(lines[3]).toBe(`BK_APP_SECRET  set (****, ${SECRET.length} chars)  (from env BK_APP_SECRET)`);
    expect(lines[4]).toMatch(/^BK_USERNAME +not set$/);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('masks Feishu secrets from a file too', async () => {
    await writeConfig({ profiles: { default: { feishu: { app_id: 'cli_9', app_secret: FEISHU_SECRET } } } });
    const text = describeSettings(await resolveFeishuSettings(input())).join('\n');
    expect(text).toContain('FEISHU_URL         https://open.feishu.cn  (default)');
    expect(text).toContain('FEISHU_APP_ID      cli_9  (from ~/.config/cmdb-bulk/config.json profile default)');
    expect(text).toContain(maskValue(FEISHU_SECRET));
    expect(text).not.toContain(FEISHU_SECRET);
  });

  it('maskValue gives only the length', () => {
    expect(maskValue('abcdef')).toBe('set (****, 6 chars)');
  });
});
