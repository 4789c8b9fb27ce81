/**
 * Feishu aPaaS (api-notes §3): tenant token (single flight, renewed ahead of expiry, dropped on 99991663),
 * the services that authorize and sort answers, and the records API. The token request goes through a Sender
 * like every other request: the same throttle (and 429 pause), retry decision, abort signal and clock.
 */
import { looseObject, z } from './zod.js';
import { AuthError, CliError, EXIT } from '../core/errors.js';
import { readAnswer } from './answer.js';
import { realClock, type Clock } from './clock.js';
import { maskSecrets, type HttpClient, type HttpMethod, type HttpRequest, type HttpResponse } from './client.js';
import { frontVerdict, type FrontContext } from './front.js';
import type { Throttle } from './limiter.js';
import { retryAfterMs, type RetryPolicy } from './retry.js';
import { RetriesExhaustedError, Sender, type Service, type Verdict } from './sender.js';

export interface FeishuCredentials {
  appId: string;
  appSecret: string;
}

interface EnvelopeHead {
  code: number;
  msg: string;
  /** HTTP status */
  status: number;
}

/** A Feishu answer: with `ok` (code 0) the operation's data, read with its schema; otherwise no data. */
export type FeishuEnvelope<D = unknown> = EnvelopeHead & ({ ok: true; data: D } | { ok: false; data: null });

export const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
/** The op name of the token request (its rate-limit key, its name in traces). */
export const TOKEN_OP = 'tenant_access_token';
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

/** A Feishu envelope has a numeric `code` (the token answer too, with its fields at the top level). */
const ENVELOPE = looseObject({ code: z.unknown().optional() }).refine((b) => code(b.code) !== undefined);

export function isFeishuEnvelope(body: unknown): boolean {
  return ENVELOPE.safeParse(body).success;
}

/** {code:0, tenant_access_token, expire} at the top level, no `data` (api-notes §3). */
const TOKEN_ANSWER = looseObject({ tenant_access_token: z.string().min(1), expire: z.number().optional() });

const FEISHU_SETTINGS = 'FEISHU_URL (--url; default https://open.feishu.cn)';
const FEISHU_CREDENTIALS = 'FEISHU_APP_ID / FEISHU_APP_SECRET';

function feishuFront(secrets: () => string[]): FrontContext {
  return {
    service: 'Feishu',
    address: FEISHU_SETTINGS,
    credentials: FEISHU_CREDENTIALS,
    isEnvelope: isFeishuEnvelope,
    addressHint: (base) => (/\/open-apis(\/|$)/.test(base) ? 'the URL already holds the API path: give only the origin (https://open.feishu.cn)' : undefined),
    secrets,
  };
}

function rateLimited(res: HttpResponse, said: string): Verdict {
  const waitMs = retryAfterMs(res.headers['x-ogw-ratelimit-reset']) ?? retryAfterMs(res.headers['retry-after']);
  return { kind: 'rate-limited', waitMs, reason: `rate limited (${said})` };
}

function notFound(res: HttpResponse, req: HttpRequest, said: string, secrets: string[]): Verdict {
  return { kind: 'fatal', error: new CliError(`Feishu has no ${req.op} at ${req.method} ${maskSecrets(res.url, secrets)} (${said})`, EXIT.AUTH, `check ${FEISHU_SETTINGS}`) };
}

/** The token endpoint: the app credentials travel in the body, so nothing is added; bad ones are fatal. */
export function tokenService(credentials: FeishuCredentials): Service {
  // The new token in an answer must not be masked: only the app secret is.
  const secrets = () => [credentials.appSecret];
  const front = feishuFront(secrets);
  return {
    name: 'feishu',
    secrets,
    async authorize(req: HttpRequest): Promise<HttpRequest> {
      return req;
    },
    classify(res: HttpResponse, req: HttpRequest): Verdict {
      const b = isObject(res.body) ? res.body : undefined;
      const c = code(b?.code);
      const msg = maskSecrets(String(b?.msg ?? ''), secrets());
      const said = `HTTP ${res.status}${c !== undefined ? `, code ${c}` : ''}${msg ? `: ${msg}` : ''}`;
      const stop = c !== undefined ? STOP_CODES[c] : undefined;
      if (stop) return { kind: 'fatal', error: new AuthError(`Feishu refused the token request (${said}): ${stop}`) };
      if (res.status === 429 || c === RATE_LIMIT_CODE) return rateLimited(res, said);
      const fromFront = frontVerdict(res, req, front);
      if (fromFront) return fromFront;
      if (res.status >= 500) return { kind: 'transient', reason: said };
      if (res.status === 404) return notFound(res, req, said, secrets());
      if (c !== 0) {
        return { kind: 'fatal', error: new AuthError(`Feishu refused the app credentials (${said}); check ${FEISHU_CREDENTIALS}`) };
      }
      return { kind: 'ok' };
    },
  };
}

export class TenantTokenManager {
  private readonly sender: Sender;
  private readonly credentials: FeishuCredentials;
  private readonly clock: Clock;
  private token?: string;
  private renewAt = 0;
  private expiresAt = 0;
  private inflight?: Promise<string>;

  constructor(opts: {
    client: HttpClient;
    credentials: FeishuCredentials;
    /** The throttle of the app's other requests: the token request waits its turn and honours its 429 pause. */
    throttle: Throttle;
    policy: RetryPolicy;
    clock?: Clock;
    random?: () => number;
  }) {
    this.credentials = opts.credentials;
    this.clock = opts.clock ?? realClock;
    // Its own Sender (its own counts: the summary's `requests` are the API's), on the shared client and throttle.
    this.sender = new Sender({ client: opts.client, service: tokenService(opts.credentials), throttle: opts.throttle, policy: opts.policy, clock: this.clock, random: opts.random, placeless: true });
  }

  secrets(): string[] {
    return [this.credentials.appSecret, this.token ?? ''].filter(Boolean);
  }

  /**
   * Single flight: concurrent callers share one fetch; the token is cached until its renewal time. `signal` stops
   * the fetch this call starts (every caller of a run passes the same one).
   */
  get(signal?: AbortSignal): Promise<string> {
    if (this.token && this.clock.now() < this.renewAt) return Promise.resolve(this.token);
    this.inflight ??= this.fetch(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** The cached token, while it has not expired (no fetch): for a request that waited, to go with the newest one. */
  current(): string | undefined {
    return this.token && this.clock.now() < this.expiresAt ? this.token : undefined;
  }

  /** Drops the cached token. With `token`, only if that is still the cached one (a concurrent renewal may
   *  already have replaced it). */
  invalidate(token?: string): void {
    if (token !== undefined && token !== this.token) return;
    this.token = undefined;
    this.renewAt = 0;
    this.expiresAt = 0;
  }

  private async fetch(signal?: AbortSignal): Promise<string> {
    try {
      const res = await this.sender.send(
        {
          op: TOKEN_OP,
          method: 'POST',
          path: TOKEN_PATH,
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body: { app_id: this.credentials.appId, app_secret: this.credentials.appSecret },
        },
        { idempotent: true, signal },
      );
      const answer = readAnswer(TOKEN_ANSWER, res.body, { service: 'Feishu', op: TOKEN_OP, status: res.status, write: false });
      this.store(answer.tenant_access_token, answer.expire);
      return answer.tenant_access_token;
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
  const front = feishuFront(() => tokens.secrets());
  return {
    name: 'feishu',
    secrets: () => tokens.secrets(),
    async authorize(req: HttpRequest, signal?: AbortSignal): Promise<HttpRequest> {
      const token = await tokens.get(signal);
      return {
        ...req,
        headers: { 'Content-Type': 'application/json; charset=utf-8', ...req.headers, Authorization: `Bearer ${token}` },
      };
    },
    refresh(req: HttpRequest): HttpRequest | undefined {
      const token = tokens.current();
      if (!token || req.headers?.Authorization === `Bearer ${token}`) return undefined;
      return { ...req, headers: { ...req.headers, Authorization: `Bearer ${token}` } };
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
      if (res.status === 429 || c === RATE_LIMIT_CODE) return rateLimited(res, said);
      const fromFront = frontVerdict(res, req, front);
      if (fromFront) return fromFront;
      if (res.status >= 500 || (c !== undefined && TRANSIENT_CODES.has(c))) return { kind: 'transient', reason: said };
      if (c !== undefined && TOKEN_CODES.has(c)) return { kind: 'renew-auth', reason: said };
      if (c !== undefined && FATAL_CODES[c]) {
        return { kind: 'fatal', error: new AuthError(`Feishu refused ${req.op} (${said}): ${FATAL_CODES[c]}`) };
      }
      if (res.status === 401 || res.status === 403) {
        return { kind: 'fatal', error: new AuthError(`Feishu refused ${req.op} (${said}); check FEISHU_APP_ID / FEISHU_APP_SECRET and the app's permissions`) };
      }
      if (res.status === 404) return notFound(res, req, said, tokens.secrets());
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

/** One record's outcome in a batch answer, in the order sent (api-notes §3). */
const ITEM = looseObject({
  success: z.boolean().optional(),
  id: z.union([z.string(), z.number()]).optional(),
  errors: z
    .array(looseObject({ code: z.union([z.string(), z.number()]).optional(), message: z.string().optional(), sub_code: z.string().optional(), fields: z.array(z.string()).nullish() }))
    .nullish(),
});
const ITEMS = z.object({ items: z.array(ITEM) });

/** batch_query: `items` is a JSON *string* holding the records (api-notes §5); an array is taken as it is, none
 *  as an empty page. */
const QUERY_ITEMS = z.preprocess((v, ctx) => {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'a string that is not JSON' });
    return z.NEVER;
  }
}, z.array(z.record(z.string(), z.unknown())));

/** Per operation: the shape of `data` when code is 0, and whether the request changes data. */
export const FEISHU_ANSWERS = {
  batch_update: { write: true, data: ITEMS },
  batch_create: { write: true, data: ITEMS },
  batch_delete: { write: true, data: ITEMS },
  batch_query: { write: false, data: z.object({ items: QUERY_ITEMS, has_more: z.boolean().nullish(), next_page_token: z.string().nullish() }) },
} satisfies Record<FeishuRecordsOp, { write: boolean; data: z.ZodType }>;

export type FeishuData<O extends FeishuRecordsOp> = z.output<(typeof FEISHU_ANSWERS)[O]['data']>;

/** Normalises a Feishu answer (the service has made sure it is an envelope). `data` is left as it came. */
export function toFeishuEnvelope(res: HttpResponse): FeishuEnvelope {
  const b = isObject(res.body) ? res.body : {};
  const head: EnvelopeHead = { code: code(b.code) ?? (res.status < 400 ? 0 : res.status), msg: String(b.msg ?? ''), status: res.status };
  return head.code === 0 ? { ...head, ok: true, data: b.data ?? null } : { ...head, ok: false, data: null };
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

  /** Sends, then reads the data with the operation's schema (once per request); code ≠ 0 is returned, not thrown. */
  async records<O extends FeishuRecordsOp>(
    op: O,
    namespace: string,
    object: string,
    body: Record<string, unknown>,
    opts: { idempotent: boolean; signal?: AbortSignal },
  ): Promise<FeishuEnvelope<FeishuData<O>>> {
    const res = await this.sender.send(this.request(op, namespace, object, body), opts);
    const env = toFeishuEnvelope(res);
    if (!env.ok) return env;
    const answer = FEISHU_ANSWERS[op];
    return { ...env, data: readAnswer(answer.data, env.data, { service: 'Feishu', op, status: res.status, write: answer.write }) as FeishuData<O> };
  }
}
