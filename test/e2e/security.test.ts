/**
 * Security end to end: secrets never leave the process (every command, success and error paths, --verbose),
 * TLS verification with --ca / NODE_EXTRA_CA_CERTS / --insecure, the config file mode warning, CSV formula
 * neutralising, and input field names like __proto__ kept as plain data. docs/security.md points here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { openInput } from '../../src/input/index.js';
import { loadOperation } from '../../src/operations/index.js';
import { ReportWriter } from '../../src/report/writer.js';
import { cmdbEnv, csv, feishuEnv, readReport, runCli, tempDir } from './helpers.js';

// Known secrets, with characters that JSON-escape and URL-encode differently, so every form must be masked.
const BK_APP_SECRET = 'bk-app-S3CRET/+=7d1e';
const BK_TOKEN = 'bk-user-T0KEN-4a9b&x';
const FEISHU_APP_SECRET = 'feishu-S3CRET-c0ffee+/';
const WRONG_BK_SECRET = 'wrong-bk-S3CRET-5150';
const WRONG_FEISHU_SECRET = 'wrong-feishu-S3CRET-0451';
const NS = 'package_demo__c';

let sim: Simulator;
const tmp = tempDir();
let hook: ((line: string) => void) | undefined;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 11,
    credentials: { bkAppSecret: BK_APP_SECRET, feishuAppSecret: FEISHU_APP_SECRET },
    apigwWindows: false,
    feishuWindows: false,
    log: (l) => hook?.(l),
  });
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
});

/** Every form a value can take in text: as is, JSON-escaped, URL-encoded. */
function forms(secret: string): string[] {
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])];
}

/** The tenant token the simulator hands this app now: the same one the CLI used (a 2-hour token is reused). */
async function currentTenantToken(): Promise<string> {
  const res = await fetch(`${sim.urls.feishu}/open-apis/auth/v3/tenant_access_token/internal`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: sim.credentials.feishuAppId, app_secret: FEISHU_APP_SECRET }),
  });
  const body = (await res.json()) as { tenant_access_token: string };
  expect(body.tenant_access_token).toMatch(/^t-/);
  return body.tenant_access_token;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('secrets never appear in output, reports, journals, --failed files or traces', () => {
  const outputs: Array<{ what: string; text: string }> = [];
  const dir = join(tmp.dir, 'secrets');
  mkdirSync(dir, { recursive: true });
  let n = 0;

  /** Runs a command with --verbose, a report and a --failed file in `dir`, and keeps everything it printed. */
  async function run(what: string, args: string[], env: Record<string, string | undefined>, opts: { hook?: (line: string, child: ChildProcess) => void } = {}) {
    n++;
    const report = join(dir, `r${n}.csv`);
    const failed = join(dir, `f${n}${args[1]?.endsWith('.ndjson') ? '.ndjson' : '.csv'}`);
    const isData = !args[0]!.startsWith('config');
    const full = isData ? [...args, '--verbose', '--report', report, '--failed', failed, '--retry-delay', '1', '--retries', '2', '--no-progress'] : args;
    let child: ChildProcess | undefined;
    hook = opts.hook ? (line) => child && opts.hook!(line, child) : undefined;
    const r = await runCli(full, { env, onSpawn: (c) => (child = c) });
    hook = undefined;
    outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    return r;
  }

  const switches = (tag: string, k = 5) => tmp.file(`sec-${tag}.csv`, csv(['bk_inst_name,bk_asset_id', ...Array.from({ length: k }, (_, i) => `n${i},SEC-${tag}-${i}`), 'dup,SW-EXIST-0001']));

  it('every command, success and error paths, with --verbose', async () => {
    const cmdbToken = cmdbEnv(sim, 'esb', { BK_APP_SECRET, BK_USERNAME: undefined, BK_TOKEN });
    const cmdbApigw = cmdbEnv(sim, 'apigw', { BK_APP_SECRET, BK_TOKEN });
    const feishu = feishuEnv(sim, { FEISHU_APP_SECRET });

    const upd = tmp.file('sec-upd.csv', csv(['bk_inst_id,bk_sn', '1001,SEC-SN-1', '999999,SEC-SN-2']));
    const proc = tmp.file('sec-proc.csv', csv(['bk_process_id,description', '1001,sec', '999999,sec']));
    const asst = tmp.file('sec-asst.csv', csv(['bk_inst_id,bk_asst_inst_id', '1003,150', '1003,999999']));
    const fu = tmp.file('sec-fu.ndjson', '{"_id":"1798681438085001","status":"sec"}\n{"_id":"nope","status":"sec"}\n');
    const fc = tmp.file('sec-fc.ndjson', '{"serial_no":"SEC-1"}\n{"serial_no":"__reject__"}\n');
    const fd = tmp.file('sec-fd.csv', csv(['_id', '1798681438085050', 'nope']));
    // The runs of each phase touch different data, so they run side by side (the phases set different faults).
    const codes = async (runs: Array<Promise<{ code: number | null; stderr: string }>>) => (await Promise.all(runs)).map((r) => r.code);

    // Success, with one failed row each (so the --failed file has content).
    const [first] = await Promise.all([run('create-inst esb token', ['create-inst', switches('a'), '--obj', 'bk_switch'], cmdbToken)]);
    expect(first!.stderr).toMatch(/→ POST/); // the trace is there, with the request bodies
    expect(
      await codes([
        run('create-inst apigw', ['create-inst', switches('b'), '--obj', 'bk_switch'], cmdbApigw),
        run('update-inst', ['update-inst', upd, '--obj', 'bk_switch'], cmdbToken),
        run('update-process', ['update-process', proc, '--biz', '2', '--skip-invalid'], cmdbApigw),
        run('associate', ['associate', asst, '--asst-id', 'bk_switch_connect_host'], cmdbToken),
        run('apaas-update', ['apaas-update', fu, '--namespace', NS, '--object', 'device'], feishu),
        run('apaas-create', ['apaas-create', fc, '--namespace', NS, '--object', 'device', '--key', 'serial_no'], feishu),
        run('apaas-delete', ['apaas-delete', fd, '--namespace', NS, '--object', 'device'], feishu),
        run('config check', ['config', 'check'], { ...cmdbToken, ...feishu }),
        run('config check json', ['config', 'check', '--json'], { ...cmdbApigw, ...feishu }),
      ]),
    ).toEqual([3, 3, 3, 3, 3, 3, 3, 0, 0]);
    expect(first!.code, first!.stderr).toBe(3);

    // Wrong secrets: exit 4.
    const wrongCmdb = cmdbEnv(sim, 'apigw', { BK_APP_SECRET: WRONG_BK_SECRET, BK_TOKEN });
    const wrongFeishu = feishuEnv(sim, { FEISHU_APP_SECRET: WRONG_FEISHU_SECRET });
    expect(
      await codes([
        run('create-inst wrong secret', ['create-inst', switches('c'), '--obj', 'bk_switch'], wrongCmdb),
        run('create-inst wrong secret esb', ['create-inst', switches('d'), '--obj', 'bk_switch'], { ...cmdbToken, BK_APP_SECRET: WRONG_BK_SECRET }),
        run('apaas-update wrong secret', ['apaas-update', fu, '--namespace', NS, '--object', 'device'], wrongFeishu),
        run('config check wrong', ['config', 'check'], { ...wrongCmdb, ...wrongFeishu }),
      ]),
    ).toEqual([4, 4, 4, 4]);

    // Server errors on every write: 5xx bodies traced, retries, outcome unknown; exit 3 / 5.
    sim.setFaults({ error5xxRate: 1, ops: ['batch_create_inst', 'feishu_batch_update', 'batch_update_inst'] });
    expect(
      await codes([
        run('create-inst 5xx', ['create-inst', switches('e'), '--obj', 'bk_switch'], cmdbApigw),
        run('update-inst 5xx', ['update-inst', upd, '--obj', 'bk_switch'], cmdbToken),
        run('apaas-update 5xx', ['apaas-update', fu, '--namespace', NS, '--object', 'device'], feishu),
      ]),
    ).toEqual([3, 5, 5]);
    sim.setFaults({});

    // Killed mid-run: the journal and the in-flight log stay on disk; they are searched too.
    sim.setFaults({ latencyMs: 30, ops: ['batch_create_inst'] });
    const many = tmp.file('sec-many.csv', csv(['bk_inst_name,bk_asset_id', ...Array.from({ length: 100 }, (_, i) => `m${i},SEC-K-${i}`)]));
    let answered = 0;
    const r = await run('create-inst killed', ['create-inst', many, '--obj', 'bk_switch', '--batch-size', '5', '--concurrency', '4'], cmdbToken, {
      hook: (line, child) => {
        if (/batch_create_inst -> 200/.test(line) && ++answered === 6) child.kill('SIGKILL');
      },
    });
    sim.setFaults({});
    expect(r.code).toBe(null);
    expect(existsSync(join(dir, `r${n}.csv.inflight`))).toBe(true);

    const token = await currentTenantToken();
    const secrets = { BK_APP_SECRET, BK_TOKEN, FEISHU_APP_SECRET, WRONG_BK_SECRET, WRONG_FEISHU_SECRET, tenant_token: token };
    const files = filesUnder(dir);
    expect(files.some((f) => f.endsWith('.journal') || f.endsWith('.inflight'))).toBe(true);
    expect(files.filter((f) => /\/f\d+\./.test(f)).length).toBeGreaterThan(5);
    const haystacks = [...outputs, ...files.map((f) => ({ what: f, text: readFileSync(f, 'utf8') }))];
    expect(haystacks.length).toBeGreaterThan(40);
    for (const [name, value] of Object.entries(secrets)) {
      for (const form of forms(value)) {
        for (const h of haystacks) expect(h.text.includes(form), `${name} (${form}) in ${h.what}`).toBe(false);
      }
    }
    // The traces show where a secret was, masked.
    expect(outputs.some((o) => /"bk_app_secret":"\*\*\*"/.test(o.text))).toBe(true);
    expect(outputs.some((o) => /"tenant_access_token":"\*\*\*"/.test(o.text))).toBe(true);
  }, 120_000);
});

describe('a server that echoes secrets in its answers', () => {
  it('the echoed values are masked before they reach the report, the --failed file or the terminal', async () => {
    // A front for the simulator that appends the credentials each request carried (body, X-Bkapi-Authorization,
    // bearer token) to every message and per-row error of its answer.
    const tokens = new Set<string>();
    const front = createHttpServer((req, res) => {
      let sent = '';
      req.on('data', (d) => (sent += d));
      const carried = () => {
        const found: string[] = [];
        const pick = (o: Record<string, unknown> | undefined) => {
          for (const k of ['bk_app_secret', 'bk_token', 'app_secret']) if (typeof o?.[k] === 'string') found.push(o[k] as string);
        };
        try {
          pick(JSON.parse(sent));
        } catch {
          /* no JSON body */
        }
        try {
          pick(JSON.parse(String(req.headers['x-bkapi-authorization'] ?? '')));
        } catch {
          /* no apigw header */
        }
        const bearer = /^Bearer (\S+)/.exec(String(req.headers.authorization ?? ''))?.[1];
        if (bearer) {
          found.push(bearer);
          tokens.add(bearer);
        }
        return ` [echo: app_secret ${found.join(', ')}]`;
      };
      const fwd = httpRequest({ host: '127.0.0.1', port: sim.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        let raw = '';
        up.setEncoding('utf8');
        up.on('data', (d) => (raw += d));
        up.on('end', () => {
          let text = raw;
          const echo = carried();
          try {
            const b = JSON.parse(raw);
            if (typeof b.message === 'string' && b.message !== 'success') b.message += echo;
            if (typeof b.msg === 'string' && b.code !== 0) b.msg += echo;
            for (const k of Object.keys(b.data?.error_msg ?? {})) b.data.error_msg[k] += echo;
            for (const it of Array.isArray(b.data?.items) ? b.data.items : []) for (const e of it.errors ?? []) e.message += echo;
            text = JSON.stringify(b);
          } catch {
            /* not JSON: as it is */
          }
          const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(text)) };
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(text);
        });
      });
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
    const dir = join(tmp.dir, 'echo');
    mkdirSync(dir);
    try {
      const texts: string[] = [];
      const go = async (args: string[], env: Record<string, string | undefined>, code: number) => {
        const i = texts.length;
        const r = await runCli([...args, '--verbose', '--report', join(dir, `r${i}.csv`), '--failed', join(dir, `f${i}.csv`), '--retries', '1', '--retry-delay', '1'], { env });
        expect(r.code, r.stderr).toBe(code);
        texts.push(r.stdout, r.stderr);
      };
      const input = tmp.file('echo.csv', csv(['bk_inst_name,bk_asset_id', 'e,ECHO-1', 'dup,SW-EXIST-0002']));
      await go(['create-inst', input, '--obj', 'bk_switch'], cmdbEnv(sim, 'esb', { CMDB_URL: url, BK_APP_SECRET, BK_TOKEN }), 3);
      const upd = tmp.file('echo-upd.csv', csv(['bk_inst_id,bk_sn', '999999,x']));
      await go(['update-inst', upd, '--obj', 'bk_switch'], cmdbEnv(sim, 'apigw', { CMDB_URL: `${url}/api/bk-cmdb/prod`, BK_APP_SECRET, BK_TOKEN }), 3);
      await go(['create-inst', input, '--obj', 'bk_switch'], cmdbEnv(sim, 'esb', { CMDB_URL: url, BK_APP_SECRET: WRONG_BK_SECRET }), 4);
      const fu = tmp.file('echo-fu.ndjson', '{"_id":"nope","status":"x"}\n');
      await go(['apaas-update', fu, '--namespace', NS, '--object', 'device'], feishuEnv(sim, { FEISHU_URL: url, FEISHU_APP_SECRET }), 3);
      const all = [...texts, ...filesUnder(dir).map((f) => readFileSync(f, 'utf8'))].join('\n');
      expect(all).toContain('[echo: app_secret ***'); // the echo arrived, masked
      expect(tokens.size).toBeGreaterThan(0);
      for (const secret of [BK_APP_SECRET, BK_TOKEN, FEISHU_APP_SECRET, WRONG_BK_SECRET, ...tokens]) {
        for (const form of forms(secret)) expect(all.includes(form), form).toBe(false);
      }
    } finally {
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
    }
  });
});

describe('TLS', () => {
  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  let server: HttpsServer | undefined;
  let url = '';
  const certFile = join(tmp.dir, 'tls-cert.pem');

  beforeAll(async () => {
    if (!hasOpenssl) return;
    const keyFile = join(tmp.dir, 'tls-key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    // A TLS front for the simulator (a private-CA deployment in miniature): forwards every request to it.
    server = createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (req, res) => {
      const fwd = httpRequest({ host: '127.0.0.1', port: sim.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server!.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  const input = () => {
    const tag = Math.random().toString(36).slice(2);
    return tmp.file('tls.csv', csv(['bk_inst_name,bk_asset_id', `t-${tag},TLS-${tag}`]));
  };
  const env = (extra: Record<string, string> = {}) => cmdbEnv(sim, 'esb', { CMDB_URL: url, BK_APP_SECRET, ...extra });

  it.skipIf(!hasOpenssl)('verifies certificates by default: exit 4 with a hint about --ca / --insecure, every row unsent', async () => {
    const report = join(tmp.dir, 'tls-default.csv');
    const r = await runCli(['create-inst', input(), '--obj', 'bk_switch', '--report', report, '--retry-delay', '1'], { env: env() });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/certificate/i);
    expect(r.stderr).toMatch(/--ca/);
    expect(r.stderr).toMatch(/--insecure/);
    expect(readReport(report).map((x) => x.status)).toEqual(['unsent']);
  });

  it.skipIf(!hasOpenssl)('--ca <cert> trusts the private CA', async () => {
    const r = await runCli(['create-inst', input(), '--obj', 'bk_switch', '--ca', certFile, '--report', join(tmp.dir, 'tls-ca.csv')], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/insecure/i);
  });

  it.skipIf(!hasOpenssl)('NODE_EXTRA_CA_CERTS works too', async () => {
    const r = await runCli(['create-inst', input(), '--obj', 'bk_switch', '--report', join(tmp.dir, 'tls-extra.csv')], { env: env({ NODE_EXTRA_CA_CERTS: certFile }) });
    expect(r.code, r.stderr).toBe(0);
  });

  it.skipIf(!hasOpenssl)('--insecure works and warns', async () => {
    const r = await runCli(['create-inst', input(), '--obj', 'bk_switch', '--insecure', '--report', join(tmp.dir, 'tls-insecure.csv')], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --insecure: TLS certificates are NOT verified/);
  });

  it.runIf(!hasOpenssl)('skipped: openssl is not installed, so no test certificate can be made', () => {
    expect(hasOpenssl).toBe(false);
  });
});

describe('config file mode', () => {
  it.skipIf(process.platform === 'win32')('a config file with an inline secret that others can read gets a warning saying how to fix it', async () => {
    const file = join(tmp.dir, 'cfg', 'config.json');
    mkdirSync(join(tmp.dir, 'cfg'), { recursive: true });
    writeFileSync(file, JSON.stringify({ profiles: { default: { cmdb: { url: sim.urls.esb, gateway: 'esb', app_code: sim.credentials.bkAppCode, app_secret: BK_APP_SECRET, username: 'admin' } } } }));
    chmodSync(file, 0o644);
    const r = await runCli(['config', 'check', '--service', 'cmdb', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mode 644/);
    expect(r.stderr).toMatch(/chmod 600/);
    expect(r.stderr + r.stdout).not.toContain(BK_APP_SECRET);
    chmodSync(file, 0o600);
    const quiet = await runCli(['config', 'check', '--service', 'cmdb', '--config', file]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/chmod/);
  });
});

describe('the CSV report neutralises formulas', () => {
  it('cells starting with = + - @ get a leading quote; plain numbers and the stored data are untouched', async () => {
    const evil = ['=HYPERLINK("http://evil.example","click")', '+SUM(1,2)', '-2+3', '@cmd|calc', '=1+1'];
    const input = tmp.file('formula.csv', csv(['bk_inst_name,bk_asset_id,bk_sn', ...evil.map((e, i) => `"${e.replace(/"/g, '""')}",FORMULA-${i},-${i + 1}`)]));
    const report = join(tmp.dir, 'formula.report.csv');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, 'esb', { BK_APP_SECRET }) });
    expect(r.code, r.stderr).toBe(0);
    const cells = parse(readFileSync(report, 'utf8'), { columns: false }) as string[][];
    const [header, ...rows] = cells;
    const name = header!.indexOf('bk_inst_name');
    const sn = header!.indexOf('bk_sn');
    expect(rows.map((x) => x[name])).toEqual(evil.map((e) => `'${e}`));
    expect(rows.map((x) => x[sn])).toEqual(evil.map((_, i) => `-${i + 1}`)); // numbers stay numbers
    for (const row of cells) for (const c of row) expect(/^[=+@]/.test(c) || (/^-/.test(c) && !/^-\d+$/.test(c)), c).toBe(false);
    // The server got the data as it was.
    for (const [i, e] of evil.entries()) expect(sim.store.findBy('bk_switch', 'bk_asset_id', `FORMULA-${i}`)?.bk_inst_name).toBe(e);
  });
});

describe('input is data, never code', () => {
  it('__proto__ and constructor columns: refused as unknown fields with the schema, sent as plain data without it', async () => {
    const csvIn = tmp.file('proto.csv', csv(['bk_inst_name,bk_asset_id,__proto__,constructor', 'p1,PROTO-1,"{""polluted"":""yes""}","{""prototype"":{""polluted"":""yes""}}"']));
    const refused = await runCli(['create-inst', csvIn, '--obj', 'bk_switch', '--report', join(tmp.dir, 'proto-refused.csv')], { env: cmdbEnv(sim, 'esb', { BK_APP_SECRET }) });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/unknown field "__proto__"/);
    expect(refused.stderr).toMatch(/unknown field "constructor"/);

    const report = join(tmp.dir, 'proto.report.csv');
    const sent = await runCli(['create-inst', csvIn, '--obj', 'bk_switch', '--no-schema', '--report', report], { env: cmdbEnv(sim, 'esb', { BK_APP_SECRET }) });
    expect(sent.code, sent.stderr).toBe(0);
    // Read the cells by position: a test helper building objects from the header would trip over "__proto__" itself.
    const [header, row] = parse(readFileSync(report, 'utf8'), { columns: false }) as string[][];
    expect(row![header!.indexOf('status')]).toBe('ok');
    expect(row![header!.indexOf('__proto__')]).toBe('{"polluted":"yes"}');
    expect(row![header!.indexOf('constructor')]).toBe('{"prototype":{"polluted":"yes"}}');
    // The server dropped the unknown fields and kept the rest.
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'PROTO-1')).toMatchObject({ bk_inst_name: 'p1' });

    const jsonIn = tmp.file('proto.json', '[{"serial_no":"PROTO-F","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x"}]');
    const jsonReport = join(tmp.dir, 'proto.report.json');
    const created = await runCli(['apaas-create', jsonIn, '--namespace', NS, '--object', 'proto_obj', '--report', jsonReport], { env: feishuEnv(sim, { FEISHU_APP_SECRET }) });
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(readFileSync(jsonReport, 'utf8')) as Array<{ status: string; input: Record<string, unknown> }>;
    expect(out[0]!.status).toBe('ok');
    expect(Object.getOwnPropertyNames(out[0]!.input)).toEqual(['serial_no', '__proto__', 'constructor', 'toString']);
    // The record reached the server with those names as ordinary fields.
    const rec = sim.store.records(NS, 'proto_obj').find((x) => x.serial_no === 'PROTO-F')!;
    expect(rec.toString).toBe('x');
    expect(Object.hasOwn(rec, 'constructor')).toBe(true);
  });

  it('in process: reading, checking and reporting such rows leaves Object.prototype untouched', async () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const file = tmp.file('proto-inproc.ndjson', ['{"bk_inst_name":"a","bk_asset_id":"X","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}', '{"_id":"1","__proto__":{"isAdmin":true}}'].join('\n'));
    const source = await openInput({ file });
    const ctx = { options: { obj: 'bk_switch', namespace: NS, object: 'o', noSchema: true, empty: 'omit' as const }, source, info: () => {}, signal: new AbortController().signal };
    const sessions = await Promise.all(['create-inst', 'apaas-create', 'apaas-update'].map(async (c) => (await loadOperation(c))!.setup(ctx)));
    const report = await ReportWriter.open({ path: join(tmp.dir, 'proto-inproc.csv'), format: 'csv', inputColumns: ['__proto__', 'constructor'] });
    const payloads: string[] = [];
    for await (const rec of source.records()) {
      for (const s of sessions) {
        const checked = s.check(rec);
        payloads.push(JSON.stringify(checked.payload));
      }
      report.add([{ row: rec.row, status: 'ok', values: rec.values }]);
    }
    await report.finish();
    await source.close();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    // The names travelled as data into what would be sent.
    expect(payloads[0]).toContain('"__proto__":{"polluted":"yes"}');
    expect(payloads.some((p) => p.includes('"isAdmin":true'))).toBe(true);
  });
});
