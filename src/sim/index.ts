/**
 * A loopback simulator of BlueKing CMDB (ESB and API gateway front doors, one
 * store) and Feishu aPaaS records, with rate windows and switchable faults.
 * docs/simulator.md describes every endpoint, the seeded world and the faults.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SimStore, type SimWorld } from './store.js';
import { CMDB_HANDLERS, CMDB_WRITE_OPS, APIGW_ROUTES, GATEWAY_ONLY, type CmdbResult } from './cmdb.js';
import './cmdb-read.js'; // search_instance_associations, count_object_instances
import { FEISHU_OPS, FEISHU_WRITE_OPS, FeishuTokens, type FeishuReply } from './feishu.js';
import { FixedLimiter, SlidingLimiter, PerSecondPeak, mulberry32, type RateWindow } from './limiter.js';
import { cmdbMessage, type Lang } from './messages.js';

export { SimStore } from './store.js';
export type { Row, Attribute, Model, ObjectAssociation, InstAssociation, SimStateSnapshot } from './store.js';
export type { RateWindow } from './limiter.js';
export { REJECT_VALUE } from './feishu.js';

export interface SimCredentials { bkAppCode: string; bkAppSecret: string; feishuAppId: string; feishuAppSecret: string }

export interface SimFaults {
  /** Added before answering every request (not control endpoints). */
  latencyMs?: number;
  /** Extra uniform random 0..jitter ms. */
  latencyJitterMs?: number;
  /** Share 0..1 of requests answered 500/502/503 without applying. */
  error5xxRate?: number;
  /** Share of requests whose socket is destroyed without applying (no response). */
  dropRate?: number;
  /** Share of write requests applied, then socket destroyed. */
  dropAfterApplyRate?: number;
  /** Share of write requests applied, then answered 504 (apigw style: code 1650401). */
  appliedThen504Rate?: number;
  /**
   * Share of ESB write requests applied, then answered HTTP 200 with code 1306201: the ESB's answer when CMDB takes
   * longer than its 30 s (legacy-bk-paas esb/outgoing.py, REQUEST_TIMEOUT_SECS). Other doors ignore it.
   */
  appliedThen1306201Rate?: number;
  /** The next N requests (any data endpoint) get a rate-limit answer in the style of their front door. */
  storm429?: number;
  /** Reset value sent during a storm (default 0.2 s). */
  stormResetSec?: number;
  /** If set, faults apply only to these operation names (e.g. ['batch_create_inst']). */
  ops?: string[];
}

export interface SimOptions {
  /** 0 = any free port (default 0). */
  port?: number;
  /** Default: env BK_APP_CODE/BK_APP_SECRET/FEISHU_APP_ID/FEISHU_APP_SECRET when set, else DEMO_CREDENTIALS. */
  credentials?: Partial<SimCredentials>;
  /** bk_username values that get 9900403 on writes (default ['forbidden']). */
  forbiddenUsers?: string[];
  /** Feishu tenant token lifetime in seconds (default 7200). */
  tokenTtlSec?: number;
  /** Per app per operation; default [{limit:50,windowMs:1000},{limit:1000,windowMs:60000}]. */
  feishuWindows?: RateWindow[] | false;
  /** Per app per resource; default [{limit:100,windowMs:1000}]. */
  apigwWindows?: RateWindow[] | false;
  /** Default false (ESB has no limiter unless configured). */
  esbWindows?: RateWindow[] | false;
  /** How every door counts its windows: `sliding` (default: the strictest, any interval of the window's length) or
   *  `fixed` (the API gateway's counter, started by the first request of a window; src/sim/limiter.ts). */
  windowKind?: 'sliding' | 'fixed';
  /** IAM on (default true): the apiserver parses association batches first and refuses a bad host id with 1199045. */
  iam?: boolean;
  /** CMDB operations the app has no permission to call: gateway 403 / 1640301, ESB 200 / 1306403 (default none). */
  appDeniedOps?: string[];
  faults?: SimFaults;
  /** PRNG seed for faults (default 1); same seed + same requests = same faults. */
  seed?: number;
  /** 'default': the seeded world; 'empty-extra': same models, hosts and processes, no custom instances, associations or Feishu records. */
  world?: SimWorld;
  /** Optional request log, one line per request. */
  log?: (line: string) => void;
  /** Clock in ms for token lifetimes and rate windows (default Date.now); tests inject one. */
  clock?: () => number;
}

export const DEMO_CREDENTIALS: SimCredentials = Object.freeze({
  bkAppCode: 'cmdb-bulk-demo',
  bkAppSecret: 'demo-app-secret',
  feishuAppId: 'cli_demo',
  feishuAppSecret: 'demo-feishu-secret',
});

export interface SimCounters {
  /** Per operation name (batch_create_inst, ..., feishu_batch_update, tenant_access_token). */
  requests: Record<string, number>;
  /** All write operations, any front door. */
  writeRequests: number;
  /** 429s (and ESB 1306429) sent. */
  http429: number;
  /** Highest count of requests to that operation in any sliding 1000 ms. */
  maxPerSecond: Record<string, number>;
  /** Rows rejected because the unique value / association already existed (1199014, 1101038). */
  duplicateKeyAttempts: number;
  /** Successful tenant_access_token answers. */
  tokenFetches: number;
  /** Per fault kind: latency, error5xx, drop, dropAfterApply, appliedThen504, storm429. */
  faultsInjected: Record<string, number>;
  /** Rows created/updated/deleted per operation. */
  rowsApplied: Record<string, number>;
}

export interface Simulator {
  port: number;
  urls: { esb: string; apigw: string; feishu: string; control: string };
  credentials: SimCredentials;
  /** Live store; read it in tests. */
  store: SimStore;
  counters(): SimCounters;
  /** Replaces the faults (and restarts the fault PRNG from the seed). */
  setFaults(f: SimFaults): void;
  /** Store back to the seeded world, counters zeroed, faults cleared, rate windows emptied. */
  reset(): void;
  /** Closes the server and all sockets (keep-alive ones too). */
  close(): Promise<void>;
}

/** Credentials in effect: options beat environment beat demo, field by field. */
export function resolveCredentials(partial: Partial<SimCredentials> = {}, env: NodeJS.ProcessEnv = process.env): SimCredentials {
  const pick = (k: keyof SimCredentials, envName: string) => partial[k] ?? (env[envName] || DEMO_CREDENTIALS[k]);
  return {
    bkAppCode: pick('bkAppCode', 'BK_APP_CODE'),
    bkAppSecret: pick('bkAppSecret', 'BK_APP_SECRET'),
    feishuAppId: pick('feishuAppId', 'FEISHU_APP_ID'),
    feishuAppSecret: pick('feishuAppSecret', 'FEISHU_APP_SECRET'),
  };
}

const DEFAULT_FEISHU_WINDOWS: RateWindow[] = [{ limit: 50, windowMs: 1000 }, { limit: 1000, windowMs: 60_000 }];
const DEFAULT_APIGW_WINDOWS: RateWindow[] = [{ limit: 100, windowMs: 1000 }];
const ESB_PREFIX = '/api/c/compapi/v2/cc/';
const APIGW_PREFIX = /^\/api\/bk-cmdb\/[^/]+(\/api\/v3\/.*)$/;
const FEISHU_RECORDS = /^\/open-apis\/apaas\/v1\/applications\/([^/]+)\/objects\/([^/]+)\/records\/([a-z_]+)\/?$/;
const FEISHU_TOKEN = /^\/open-apis\/auth\/v3\/tenant_access_token\/internal\/?$/;

type Door = 'esb' | 'apigw' | 'feishu';
/** An answer to send; CMDB's gateway errors add their X-Bkapi-Error-* headers. */
type Reply = FeishuReply & { headers?: Record<string, string> };
interface Route { door: Door; op: string; objId?: string; params?: Record<string, unknown>; ns?: string; obj?: string; run?: (typeof FEISHU_OPS)[string]['run'] }

function emptyCounters(): SimCounters {
  return { requests: {}, writeRequests: 0, http429: 0, maxPerSecond: {}, duplicateKeyAttempts: 0, tokenFetches: 0, faultsInjected: {}, rowsApplied: {} };
}

const RATE_KEYS = ['error5xxRate', 'dropRate', 'dropAfterApplyRate', 'appliedThen504Rate', 'appliedThen1306201Rate'] as const;

/** Throws when a faults object is not well formed (control endpoint answers 400). */
function checkFaults(f: unknown): SimFaults {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new Error('faults must be a JSON object');
  const x = f as Record<string, unknown>;
  for (const k of RATE_KEYS) {
    if (x[k] !== undefined && (typeof x[k] !== 'number' || (x[k] as number) < 0 || (x[k] as number) > 1)) throw new Error(`${k} must be a number 0..1`);
  }
  for (const k of ['latencyMs', 'latencyJitterMs', 'storm429', 'stormResetSec']) {
    if (x[k] !== undefined && (typeof x[k] !== 'number' || (x[k] as number) < 0)) throw new Error(`${k} must be a number >= 0`);
  }
  if (x.ops !== undefined && (!Array.isArray(x.ops) || !x.ops.every((o) => typeof o === 'string'))) throw new Error('ops must be a list of operation names');
  const known = new Set<string>([...RATE_KEYS, 'latencyMs', 'latencyJitterMs', 'storm429', 'stormResetSec', 'ops']);
  const unknown = Object.keys(x).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`unknown fault setting(s): ${unknown.join(', ')}`);
  return { ...(x as SimFaults) };
}

export async function startSimulator(opts: SimOptions = {}): Promise<Simulator> {
  const clock = opts.clock ?? Date.now;
  const credentials = resolveCredentials(opts.credentials);
  const forbidden = new Set(opts.forbiddenUsers ?? ['forbidden']);
  const iam = opts.iam ?? true;
  const appDenied = new Set(opts.appDeniedOps ?? []);
  const seed = opts.seed ?? 1;
  const store = new SimStore(opts.world ?? 'default');
  const tokens = new FeishuTokens({ appId: credentials.feishuAppId, appSecret: credentials.feishuAppSecret }, opts.tokenTtlSec ?? 7200, clock);
  const limiter = (w: RateWindow[] | false | undefined, dflt: RateWindow[] | false) => {
    const windows = w === undefined ? dflt : w;
    if (!windows || !windows.length) return null;
    return opts.windowKind === 'fixed' ? new FixedLimiter(windows) : new SlidingLimiter(windows);
  };
  const limiters: Record<Door, SlidingLimiter | FixedLimiter | null> = {
    feishu: limiter(opts.feishuWindows, DEFAULT_FEISHU_WINDOWS),
    apigw: limiter(opts.apigwWindows, DEFAULT_APIGW_WINDOWS),
    esb: limiter(opts.esbWindows, false),
  };

  let counters = emptyCounters();
  let peak = new PerSecondPeak();
  let faults: SimFaults = checkFaults(opts.faults ?? {});
  let random = mulberry32(seed);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const bump = (rec: Record<string, number>, key: string, n = 1) => (rec[key] = (rec[key] ?? 0) + n);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log?.(`sim internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent && !res.destroyed) send(res, 500, { result: false, code: 1199999, message: 'simulator internal error', data: null });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (closed || res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? (text.startsWith('<') ? 'text/html' : 'text/plain') : 'application/json';
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function route(method: string, path: string): Route | null {
    if (path.startsWith(ESB_PREFIX)) {
      const op = path.slice(ESB_PREFIX.length).replace(/\/$/, '');
      return method === 'POST' && CMDB_HANDLERS[op] && !GATEWAY_ONLY.has(op) ? { door: 'esb', op } : null;
    }
    const gw = APIGW_PREFIX.exec(path);
    if (gw) {
      for (const r of APIGW_ROUTES) {
        const m = r.re.exec(gw[1]!);
        if (!m || r.method !== method) continue;
        const value = m[1] && decodeURIComponent(m[1]);
        if (!r.param) return { door: 'apigw', op: r.op, objId: value };
        // Numeric path variables (bk_biz_id, process_template_id) are read as numbers, as the server parses them.
        return { door: 'apigw', op: r.op, params: { [r.param]: /^\d+$/.test(value ?? '') ? Number(value) : value } };
      }
      return null;
    }
    if (FEISHU_TOKEN.test(path)) return method === 'POST' ? { door: 'feishu', op: 'tenant_access_token' } : null;
    const fs = FEISHU_RECORDS.exec(path);
    if (fs) {
      const spec = FEISHU_OPS[fs[3]!];
      if (!spec || spec.method !== method) return null;
      return { door: 'feishu', op: spec.op, ns: decodeURIComponent(fs[1]!), obj: decodeURIComponent(fs[2]!), run: spec.run };
    }
    return null;
  }

  const requestId = () => randomBytes(16).toString('hex');
  const isWrite = (op: string) => CMDB_WRITE_OPS.has(op) || FEISHU_WRITE_OPS.has(op);
  const header = (req: http.IncomingMessage, name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };

  /** The app a request claims, for its rate windows (before any credential check). */
  function claimedApp(r: Route, req: http.IncomingMessage, body: Record<string, unknown>): string {
    if (r.door === 'feishu') return tokens.appOf(header(req, 'authorization'));
    if (r.door === 'esb') return typeof body.bk_app_code === 'string' ? body.bk_app_code : 'anonymous';
    try {
      const auth = JSON.parse(header(req, 'x-bkapi-authorization') ?? '{}') as Record<string, unknown>;
      return typeof auth.bk_app_code === 'string' ? auth.bk_app_code : 'anonymous';
    } catch {
      return 'anonymous';
    }
  }

  /** A rate-limit answer in the style of the front door. */
  function tooMany(r: Route, res: http.ServerResponse, rid: string, resetSec: number, limit: number): void {
    counters.http429++;
    if (r.door === 'feishu') {
      send(res, 429, { code: 99991400, msg: 'request trigger frequency limit' }, { 'x-ogw-ratelimit-reset': String(resetSec), 'x-ogw-ratelimit-limit': String(limit) });
    } else if (r.door === 'apigw') {
      gatewayError(res, rid, GATEWAY_ERRORS.rateLimit, {
        'x-bkapi-ratelimit-limit': String(limit), 'x-bkapi-ratelimit-remaining': '0', 'x-bkapi-ratelimit-reset': String(resetSec),
      });
    } else {
      send(res, 200, { result: false, code: 1306429, message: 'Access frequency limit', permission: null, request_id: rid, data: null });
    }
  }

  function error5xx(r: Route, res: http.ServerResponse, rid: string, pick: number): void {
    const status = [500, 502, 503][Math.min(2, Math.floor(pick * 3))]!;
    const hdr: Record<string, string> = r.door === 'apigw' ? { 'x-bkapi-request-id': rid } : {};
    if (status === 502 && r.door === 'apigw') {
      gatewayError(res, rid, GATEWAY_ERRORS.badGateway);
    } else if (status === 502) {
      send(res, 502, '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', hdr);
    } else if (status === 503) {
      send(res, 503, 'Service Unavailable', hdr);
    } else if (r.door === 'feishu') {
      send(res, 500, { code: 2200, msg: 'internal error' });
    } else {
      send(res, 500, { result: false, code: 1199999, message: 'internal server error', permission: null, request_id: rid, data: null }, hdr);
    }
  }

  function timeout504(r: Route, res: http.ServerResponse, rid: string): void {
    if (r.door === 'feishu') send(res, 504, { code: 2200, msg: 'internal error: upstream request timeout' });
    else if (r.door === 'apigw') gatewayError(res, rid, GATEWAY_ERRORS.backendTimeout);
    else send(res, 504, '<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>');
  }

  /** The gateway's own error answer (bk-core/errorx.lua + bk-error-wrapper.lua): JSON body plus X-Bkapi-Error-* headers. */
  function gatewayError(res: http.ServerResponse, rid: string, e: GatewayError, headers: Record<string, string> = {}): void {
    send(res, e.status, { code: e.code, code_name: e.code_name, message: e.message, result: false, data: null }, {
      'x-bkapi-request-id': rid, 'x-bkapi-error-code': String(e.code), 'x-bkapi-error-message': e.message, ...headers,
    });
  }

  /** ESB, when CMDB answers after its 30 s: HTTP 200, 1306201 (legacy-bk-paas esb/common/errors.py REQUEST_THIRD_PARTY_ERROR). */
  function esbTimeout(res: http.ServerResponse, rid: string): void {
    send(res, 200, {
      result: false, code: 1306201, data: null, request_id: rid,
      message: 'Request third-party interface error, Third-party system interface response time exceeds 30 seconds',
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    if (url.pathname.startsWith('/__sim/') || url.pathname === '/__sim') return control(method, url.pathname, raw, res);

    const r = route(method, url.pathname);
    if (!r) {
      opts.log?.(`${method} ${url.pathname} -> 404`);
      if (APIGW_PREFIX.test(url.pathname)) return gatewayError(res, requestId(), GATEWAY_ERRORS.notFound);
      return send(res, 404, url.pathname.startsWith('/open-apis/') ? { code: 404, msg: '404 page not found' } : { result: false, code: 404, message: `no such API: ${method} ${url.pathname}`, data: null });
    }
    const rid = requestId();
    let body: Record<string, unknown> = {};
    let badJson = false;
    if (raw.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        else badJson = true;
      } catch {
        badJson = true;
      }
    }

    // Every request that reached the server counts, faults or not.
    const now = clock();
    bump(counters.requests, r.op);
    peak.note(r.op, now);
    const write = isWrite(r.op);
    if (write) counters.writeRequests++;
    const log = (status: number | string) => opts.log?.(`${method} ${url.pathname} ${r.op} -> ${status}`);

    const lim = r.op === 'tenant_access_token' ? null : limiters[r.door];
    const gate = lim?.take(`${claimedApp(r, req, body)}|${r.op}`, now);
    const faulty = !faults.ops || faults.ops.includes(r.op);
    // A fixed number of draws per request keeps a replay with the same seed identical.
    const draws = faulty && hasRandomFaults(faults) ? [random(), random(), random(), random(), random(), random()] : null;
    // The 1306201 fault draws a seventh number only when it is set, so seeds replay as before it existed.
    if (draws && (faults.appliedThen1306201Rate ?? 0) > 0) draws.push(random());
    const delay = faulty ? (faults.latencyMs ?? 0) + (faults.latencyJitterMs ?? 0) * (draws?.[5] ?? 0) : 0;
    if (delay > 0) {
      bump(counters.faultsInjected, 'latency');
      await sleep(delay);
    }
    if (closed) return;

    if (gate && !gate.ok) {
      log(429);
      return tooMany(r, res, rid, gate.resetSec, gate.limit);
    }
    if (faulty && (faults.storm429 ?? 0) > 0) {
      faults.storm429 = faults.storm429! - 1;
      bump(counters.faultsInjected, 'storm429');
      log('429 (storm)');
      const limit = gate?.limit ?? (r.door === 'feishu' ? 50 : 100);
      return tooMany(r, res, rid, faults.stormResetSec ?? 0.2, limit);
    }
    if (draws && draws[0]! < (faults.dropRate ?? 0)) {
      bump(counters.faultsInjected, 'drop');
      log('dropped');
      res.socket?.destroy();
      return;
    }
    if (draws && draws[1]! < (faults.error5xxRate ?? 0)) {
      bump(counters.faultsInjected, 'error5xx');
      log('5xx');
      return error5xx(r, res, rid, draws[2]!);
    }

    const apigwHeaders: Record<string, string> = {};
    if (r.door === 'apigw') {
      apigwHeaders['x-bkapi-request-id'] = rid;
      if (gate) {
        apigwHeaders['x-bkapi-ratelimit-limit'] = String(gate.limit);
        apigwHeaders['x-bkapi-ratelimit-remaining'] = String(gate.remaining);
        apigwHeaders['x-bkapi-ratelimit-reset'] = '0';
      }
    }
    const answer: Reply = r.door === 'feishu' ? feishu(r, req, body, badJson) : cmdb(r, req, body, badJson, rid);
    const applied = answer.applied ?? 0;
    if (applied > 0) bump(counters.rowsApplied, r.op, applied);

    if (write && draws && draws[3]! < (faults.dropAfterApplyRate ?? 0)) {
      bump(counters.faultsInjected, 'dropAfterApply');
      log('applied, then dropped');
      res.socket?.destroy();
      return;
    }
    if (write && r.door === 'esb' && draws && draws[6]! < (faults.appliedThen1306201Rate ?? 0)) {
      bump(counters.faultsInjected, 'appliedThen1306201');
      log('applied, then 1306201');
      return esbTimeout(res, rid);
    }
    if (write && draws && draws[4]! < (faults.appliedThen504Rate ?? 0)) {
      bump(counters.faultsInjected, 'appliedThen504');
      log('applied, then 504');
      return timeout504(r, res, rid);
    }
    log(answer.status);
    send(res, answer.status, answer.body, { ...apigwHeaders, ...answer.headers });
  }

  function cmdb(r: Route, req: http.IncomingMessage, body: Record<string, unknown>, badJson: boolean, rid: string): Reply {
    const lang: Lang = [header(req, 'x-bkcmdb-language'), header(req, 'blueking-language')].some((v) => v?.toLowerCase().startsWith('en')) ? 'en' : 'zh';
    const envelope = (res: CmdbResult) => {
      if (r.door === 'apigw' && res.apiserver) {
        return { result: false, bk_error_code: res.code, bk_error_msg: res.message, permission: null, request_id: rid, data: null };
      }
      return { result: res.code === 0, code: res.code, message: res.code === 0 ? 'success' : res.message, permission: res.permission ?? null, request_id: rid, data: res.code === 0 || res.keepData ? res.data ?? null : null };
    };
    // Credentials: ESB in the body, apigw in the X-Bkapi-Authorization header (body ones ignored).
    let auth: Record<string, unknown> = {};
    if (r.door === 'esb') auth = body;
    else {
      try {
        const parsed: unknown = JSON.parse(header(req, 'x-bkapi-authorization') ?? '');
        if (typeof parsed === 'object' && parsed !== null) auth = parsed as Record<string, unknown>;
      } catch {
        auth = {};
      }
    }
    // Refused credentials (api-notes §5): the ESB answers HTTP 200 with 1306000 and the validator's words
    // (legacy-bk-paas esb/bkapp/validators.py AppSecretValidator, esb/bkauth/validators.py UserAuthValidator, turned
    // into CommonAPIError by esb/channel/base.py); the gateway 400 / 1640001 (bk-auth-validate.lua, errorx.new_invalid_args).
    const authFail = (gw: GatewayError, esbMessage: string): Reply =>
      r.door === 'apigw'
        ? { status: gw.status, body: { code: gw.code, code_name: gw.code_name, message: gw.message, result: false, data: null }, headers: { 'x-bkapi-error-code': String(gw.code), 'x-bkapi-error-message': gw.message } }
        : { status: 200, body: { result: false, code: 1306000, message: esbMessage, request_id: rid, data: null } };
    if (auth.bk_app_code !== credentials.bkAppCode) {
      return authFail(GATEWAY_ERRORS.appAuth, `Invalid APP Code [bk_app_code=${String(auth.bk_app_code ?? '')}], please confirm if the APP Code has been registered`);
    }
    if (auth.bk_app_secret !== credentials.bkAppSecret) {
      return authFail(GATEWAY_ERRORS.appAuth, `APP Secret verification failed, pelase confirm if the APP Secret and APP Code [bk_app_code=${credentials.bkAppCode}] match`);
    }
    const user = typeof auth.bk_username === 'string' && auth.bk_username !== '' ? auth.bk_username
      : typeof auth.bk_token === 'string' && auth.bk_token !== '' ? 'admin' : '';
    if (!user) return authFail(GATEWAY_ERRORS.userAuth, 'User authentication failed, please provide a valid user identity, such as bk_token, bk_username');
    // The app may not call this API (gateway bk-permission.lua → errorx.new_app_no_permission; ESB
    // esb/bkapp/validators.py AppCodeWhiteListValidator / compperm → APP_PERMISSION_DENIED).
    if (appDenied.has(r.op)) {
      return r.door === 'apigw'
        ? authFail(GATEWAY_ERRORS.appNoPermission, '')
        : { status: 200, body: { result: false, code: 1306403, message: `APP permission is insufficient, APP [bk_app_code=${credentials.bkAppCode}] is forbidden to access this component`, request_id: rid, data: null } };
    }
    if (badJson) return { status: 200, body: envelope({ code: 1199001, message: cmdbMessage(1199001, lang) }) };
    const input = r.objId !== undefined ? { ...body, bk_obj_id: r.objId } : { ...body, ...r.params };
    const ctx = { store, lang, user, forbidden: forbidden.has(user) && CMDB_WRITE_OPS.has(r.op), door: r.door as 'esb' | 'apigw', iam };
    const result = CMDB_HANDLERS[r.op]!(ctx, input);
    counters.duplicateKeyAttempts += result.duplicates ?? 0;
    return { status: 200, body: envelope(result), applied: result.applied };
  }

  function feishu(r: Route, req: http.IncomingMessage, body: Record<string, unknown>, badJson: boolean): FeishuReply {
    if (r.op === 'tenant_access_token') {
      if (badJson) return { status: 400, body: { code: 10003, msg: 'invalid param' } };
      const { reply, issued } = tokens.issue(body);
      if (issued) counters.tokenFetches++;
      return reply;
    }
    const who = tokens.verify(header(req, 'authorization'));
    if ('reply' in who) return who.reply;
    if (badJson) return { status: 400, body: { code: 2320001, msg: 'param is invalid: body is not a JSON object' } };
    return r.run!(store, r.ns!, r.obj!, body);
  }

  function control(method: string, path: string, raw: string, res: http.ServerResponse): void {
    const p = path.replace(/\/$/, '');
    if (method === 'GET' && p === '/__sim/state') return send(res, 200, store.snapshot());
    if (method === 'GET' && p === '/__sim/counters') return send(res, 200, snapshotCounters());
    if (method === 'GET' && p === '/__sim/faults') return send(res, 200, faults);
    if (method === 'POST' && p === '/__sim/faults') {
      try {
        sim.setFaults(checkFaults(raw.trim() ? JSON.parse(raw) : {}));
        return send(res, 200, { ok: true, faults });
      } catch (e) {
        return send(res, 400, { ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (method === 'POST' && p === '/__sim/reset') {
      sim.reset();
      return send(res, 200, { ok: true });
    }
    send(res, 404, { ok: false, error: `no control endpoint ${method} ${path}` });
  }

  function snapshotCounters(): SimCounters {
    return structuredClone({ ...counters, maxPerSecond: { ...peak.peak } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;

  const sim: Simulator = {
    port,
    urls: { esb: base, apigw: `${base}/api/bk-cmdb/prod`, feishu: base, control: `${base}/__sim` },
    credentials,
    store,
    counters: snapshotCounters,
    setFaults(f: SimFaults) {
      faults = checkFaults(f);
      random = mulberry32(seed);
    },
    reset() {
      store.seed();
      counters = emptyCounters();
      peak = new PerSecondPeak();
      faults = {};
      random = mulberry32(seed);
      for (const l of Object.values(limiters)) l?.clear();
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
  return sim;
}

interface GatewayError { status: number; code: number; code_name: string; message: string }

/** The gateway's errors the simulator answers with (blueking-apigateway-apisix src/apisix/plugins/bk-core/errorx.lua). */
const GATEWAY_ERRORS = {
  rateLimit: { status: 429, code: 1642903, code_name: 'RATE_LIMIT_RESTRICTION', message: 'API rate limit exceeded by resource strategy' },
  badGateway: { status: 502, code: 1650200, code_name: 'BAD_GATEWAY', message: 'Bad Gateway' },
  backendTimeout: { status: 504, code: 1650401, code_name: 'REQUEST_BACKEND_TIMEOUT', message: 'Request backend service timeout' },
  appAuth: { status: 400, code: 1640001, code_name: 'INVALID_ARGS', message: 'Parameters error [reason="bk_app_code or bk_app_secret is incorrect"]' },
  userAuth: {
    status: 400, code: 1640001, code_name: 'INVALID_ARGS',
    message: 'Parameters error [reason="user authentication failed, please provide a valid user identity, such as bk_username, bk_token, access_token"]',
  },
  notFound: { status: 404, code: 1640401, code_name: 'API_NOT_FOUND', message: 'API not found' },
  appNoPermission: { status: 403, code: 1640301, code_name: 'APP_NO_PERMISSION', message: 'App has no permission to the resource' },
} satisfies Record<string, GatewayError>;

function hasRandomFaults(f: SimFaults): boolean {
  return RATE_KEYS.some((k) => (f[k] ?? 0) > 0) || (f.latencyJitterMs ?? 0) > 0;
}
