/**
 * Feishu aPaaS (api-notes §3): tenant token (single flight, renewed ahead of expiry, dropped on 99991663),
 * the service that authorizes and sorts answers, and the records API.
 */
import { AuthError, CliError, EXIT } from '../core/errors.js';
import { realClock, type Clock } from './clock.js';
import { maskSecrets, TransportError, type HttpClient, type HttpMethod, type HttpRequest, type HttpResponse } from './client.js';
import { resetHeaderMs } from './cmdb.js';
import { backoffMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { RetriesExhaustedError, type Sender, type Service, type Verdict } from './sender.js';

export interface FeishuCredentials {
  appId: string;
  appSecret: string;
}

export interface FeishuEnvelope {
  code: number;
  msg: string;
  data: any;
  /** HTTP status */
  status: number;
}

export const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
const THIRTY_MIN_MS = 30 * 60_000;
const DEFAULT_LIFETIME_S = 7200;
/** When a renewal fails but the old token still has this long to live, keep using it and try again later. */
const KEEP_OLD_TOKEN_MS = 60_000;

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function code(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

export class TenantTokenManager {
  private readonly client: HttpClient;
  private readonly credentials: FeishuCredentials;
  private readonly clock: Clock;
  private readonly onFetch?: () => void;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;
  private token?: string;
  private renewAt = 0;
  private expiresAt = 0;
  private inflight?: Promise<string>;
  private count = 0;

  constructor(opts: {
    client: HttpClient;
    credentials: FeishuCredentials;
    clock?: Clock;
    onFetch?: () => void;
    /** Retries of the token endpoint on 5xx / network errors (default: DEFAULT_RETRY_POLICY). */
    policy?: RetryPolicy;
    random?: () => number;
  }) {
    this.client = opts.client;
    this.credentials = opts.credentials;
    this.clock = opts.clock ?? realClock;
    this.onFetch = opts.onFetch;
    this.policy = opts.policy ?? DEFAULT_RETRY_POLICY;
    this.random = opts.random ?? Math.random;
  }

  /** Number of token fetches so far (each may have taken several HTTP attempts). */
  get fetches(): number {
    return this.count;
  }

  /** The token in use, if any (for masking). */
  get current(): string | undefined {
    return this.token;
  }

  secrets(): string[] {
    return [this.credentials.appSecret, this.token ?? ''].filter(Boolean);
  }

  /** Single flight: concurrent callers share one fetch; the token is cached until its renewal time. */
  get(): Promise<string> {
    if (this.token && this.clock.now() < this.renewAt) return Promise.resolve(this.token);
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops the cached token. With `token`, only if that is still the cached one (a concurrent renewal may
   *  already have replaced it). */
  invalidate(token?: string): void {
    if (token !== undefined && token !== this.token) return;
    this.token = undefined;
    this.renewAt = 0;
    this.expiresAt = 0;
  }

  private async fetch(): Promise<string> {
    this.count++;
    this.onFetch?.();
    try {
      return await this.fetchWithRetries();
    } catch (e) {
      // A failed renewal need not stop the run while the old token is still good for a while.
      const now = this.clock.now();
      if (e instanceof RetriesExhaustedError && this.token && this.expiresAt - now > KEEP_OLD_TOKEN_MS) {
        this.renewAt = now + Math.min(KEEP_OLD_TOKEN_MS, (this.expiresAt - now) / 2);
        return this.token;
      }
      throw e;
    }
  }

  private async fetchWithRetries(): Promise<string> {
    const secrets = () => this.secrets();
    let failures = 0;
    let rateLimits = 0; // waiting out a 429 is not a failure: it has its own budget, as in the Sender
    let reachedServer = false;
    let lastError = '';
    let lastStatus: number | undefined;
    for (;;) {
      try {
        const res = await this.client.send({
          op: 'tenant_access_token',
          method: 'POST',
          path: TOKEN_PATH,
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body: { app_id: this.credentials.appId, app_secret: this.credentials.appSecret },
        });
        reachedServer = true;
        lastStatus = res.status;
        const b = isObject(res.body) ? res.body : undefined;
        const c = code(b?.code);
        const msg = maskSecrets(String(b?.msg ?? ''), secrets());
        const stop = c !== undefined ? STOP_CODES[c] : undefined;
        if (stop) throw new AuthError(`Feishu refused the token request (HTTP ${res.status}, code ${c}${msg ? `: ${msg}` : ''}): ${stop}`);
        if (res.status === 429 || c === 99991400) {
          lastError = `rate limited (HTTP ${res.status})`;
          if (++rateLimits <= this.policy.rateLimitRetries) {
            const reset = resetHeaderMs(res.headers['x-ogw-ratelimit-reset']);
            await this.clock.sleep(reset !== undefined ? Math.max(100, reset) : this.policy.defaultRateLimitWaitMs);
            continue;
          }
        } else if (res.status >= 500 || !b) {
          if (!b && res.status === 404) {
            throw new CliError(`Feishu answered HTTP 404 for the token endpoint ${TOKEN_PATH}: check FEISHU_URL (--url)`, EXIT.AUTH);
          }
          lastError = `HTTP ${res.status}${b ? '' : `: ${maskSecrets(res.text.slice(0, 200), secrets())}`}`;
        } else if (c !== 0) {
          throw new AuthError(
            `Feishu refused the app credentials (HTTP ${res.status}, code ${c ?? 'missing'}${msg ? `: ${msg}` : ''}); check FEISHU_APP_ID / FEISHU_APP_SECRET`,
          );
        } else if (typeof b.tenant_access_token !== 'string' || !b.tenant_access_token) {
          lastError = 'token answer without tenant_access_token';
        } else {
          this.store(b.tenant_access_token, code(b.expire));
          return b.tenant_access_token;
        }
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = maskSecrets(err.message, secrets());
      }
      failures++;
      if (failures > this.policy.retries) {
        throw new RetriesExhaustedError(
          `feishu tenant_access_token: ${reachedServer ? 'the server kept failing' : 'the server could not be reached'} after ${failures} attempts (last: ${lastError})`,
          { lastError, reachedServer, status: lastStatus },
        );
      }
      await this.clock.sleep(backoffMs(this.policy, failures, this.random));
    }
  }

  /**
   * Renew when less than 30 minutes are left or half the lifetime has passed, whichever comes first.
   * A token issued with 30 minutes or less (simulators, tests) is kept for half its lifetime, never refetched
   * per request.
   */
  private store(token: string, expireS: number | undefined): void {
    const now = this.clock.now();
    const lifetime = (expireS !== undefined && expireS > 0 ? expireS : DEFAULT_LIFETIME_S) * 1000;
    this.token = token;
    this.expiresAt = now + lifetime;
    this.renewAt = now + (lifetime > THIRTY_MIN_MS ? Math.min(lifetime - THIRTY_MIN_MS, lifetime / 2) : lifetime / 2);
  }
}

const RATE_LIMIT_CODE = 99991400;
const TRANSIENT_CODES = new Set([1500, 1663, 1668, 2200, 5000]);
const TOKEN_CODES = new Set([99991661, 99991663, 99991671]);
const FATAL_CODES: Record<number, string> = {
  99991672: 'the app has not been granted the API scope; in the Feishu developer console add the permission (app_engine:object.record:write / read) and publish a new app version',
  99991676: 'the token lacks permission for this object; grant the app access to the aPaaS application and object',
  99991662: 'the app is disabled or not installed in this tenant; check FEISHU_APP_ID and the app status in the Feishu admin console',
  99991673: 'the app is disabled or not installed in this tenant; check FEISHU_APP_ID and the app status in the Feishu admin console',
  99991401: "this machine's IP address is not on the app's IP allow list (the developer console's security settings, \"IP whitelist\"): add the address this machine reaches Feishu from, or run from an allowed machine",
};
/**
 * The app's call quota for the month is used up: HTTP 429 like a rate limit, but waiting seconds does not help
 * (reported by users of the open platform, openclaw/openclaw#28062; not in the SDKs). Checked before the 429 rule.
 */
const QUOTA_CODE = 99991403;
const QUOTA_ADVICE = "the app's monthly API call quota is used up: nothing more can be sent until it resets at the start of next month or the tenant's plan raises it (Feishu admin console); the developer console shows the app's call count";
/** Codes that stop the run at once with this advice, whichever endpoint answers them (the token one included). */
const STOP_CODES: Record<number, string> = { ...FATAL_CODES, [QUOTA_CODE]: QUOTA_ADVICE };

export function feishuService(opts: { tokens: TenantTokenManager }): Service {
  const { tokens } = opts;
  return {
    name: 'feishu',
    secrets: () => tokens.secrets(),
    async authorize(req: HttpRequest): Promise<HttpRequest> {
      const token = await tokens.get();
      return {
        ...req,
        headers: { 'Content-Type': 'application/json; charset=utf-8', ...req.headers, Authorization: `Bearer ${token}` },
      };
    },
    renewAuth(req?: HttpRequest): void {
      const m = /^Bearer\s+(.+)$/.exec(req?.headers?.Authorization ?? '');
      tokens.invalidate(m?.[1]);
    },
    classify(res: HttpResponse, req: HttpRequest): Verdict {
      const b = isObject(res.body) ? res.body : undefined;
      const c = code(b?.code);
      const msg = maskSecrets(String(b?.msg ?? ''), tokens.secrets());
      const said = `HTTP ${res.status}${c !== undefined ? `, code ${c}` : ''}${msg ? `: ${msg}` : ''}`;

      if (c === QUOTA_CODE) return { kind: 'fatal', error: new AuthError(`Feishu refused ${req.op} (${said}): ${QUOTA_ADVICE}`) };
      if (res.status === 429 || c === RATE_LIMIT_CODE) {
        return { kind: 'rate-limited', waitMs: resetHeaderMs(res.headers['x-ogw-ratelimit-reset']), reason: `rate limited (${said})` };
      }
      if (res.status >= 500 || (c !== undefined && TRANSIENT_CODES.has(c))) return { kind: 'transient', reason: said };
      if (c !== undefined && TOKEN_CODES.has(c)) return { kind: 'renew-auth', reason: said };
      if (c !== undefined && FATAL_CODES[c]) {
        return { kind: 'fatal', error: new AuthError(`Feishu refused ${req.op} (${said}): ${FATAL_CODES[c]}`) };
      }
      if (res.status === 401 || res.status === 403) {
        return { kind: 'fatal', error: new AuthError(`Feishu refused ${req.op} (${said}); check FEISHU_APP_ID / FEISHU_APP_SECRET and the app's permissions`) };
      }
      if (!b && res.status === 404) {
        return { kind: 'fatal', error: new CliError(`Feishu answered HTTP 404 for ${req.method} ${req.path}: check FEISHU_URL (--url)`, EXIT.AUTH) };
      }
      if (!b && res.status >= 200 && res.status < 300) {
        return { kind: 'transient', reason: `HTTP ${res.status} with a non-JSON answer: ${maskSecrets(res.text.slice(0, 200), tokens.secrets())}` };
      }
      // Includes HTTP 400 / 2320001 "param is invalid": the operation splits the batch.
      return { kind: 'ok' };
    },
  };
}

export type FeishuRecordsOp = 'batch_update' | 'batch_create' | 'batch_delete' | 'batch_query';

export const FEISHU_RECORD_METHODS: Record<FeishuRecordsOp, HttpMethod> = {
  batch_update: 'PATCH',
  batch_create: 'POST',
  batch_delete: 'DELETE',
  batch_query: 'POST',
};

export function toFeishuEnvelope(res: HttpResponse): FeishuEnvelope {
  const b = res.body;
  if (!isObject(b)) return { code: -1, msg: `HTTP ${res.status}: ${res.text.slice(0, 200) || 'empty answer'}`, data: null, status: res.status };
  return { code: code(b.code) ?? (res.status < 400 ? 0 : res.status), msg: String(b.msg ?? ''), data: b.data ?? null, status: res.status };
}

export class FeishuApi {
  private readonly sender: Sender;

  constructor(opts: { sender: Sender }) {
    this.sender = opts.sender;
  }

  /** The request (the op name is also the rate-limit key: 'batch_update', …). */
  request(op: FeishuRecordsOp, namespace: string, object: string, body: Record<string, unknown>): HttpRequest {
    const method = FEISHU_RECORD_METHODS[op];
    if (!method) throw new Error(`unknown Feishu records operation ${op}`);
    return {
      op,
      method,
      path: `/open-apis/apaas/v1/applications/${encodeURIComponent(namespace)}/objects/${encodeURIComponent(object)}/records/${op}`,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body,
    };
  }

  async records(
    op: FeishuRecordsOp,
    namespace: string,
    object: string,
    body: Record<string, unknown>,
    opts: { idempotent: boolean; signal?: AbortSignal },
  ): Promise<FeishuEnvelope> {
    const res = await this.sender.send(this.request(op, namespace, object, body), opts);
    return toFeishuEnvelope(res);
  }
}
