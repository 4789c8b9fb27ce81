/**
 * The transport: one undici dispatcher per server (keep-alive Pool, or EnvHttpProxyAgent behind a proxy),
 * JSON in, JSON out, errors sorted into "certainly never reached the server" vs "may have been applied".
 * No retries, no rate limiting here: see sender.ts and limiter.ts. undici's parts are loaded at the first request
 * (undici-parts.ts), not with this module: the pipeline needs this module's errors, and a dry run without the model
 * sends nothing.
 */
import type { Dispatcher } from 'undici';
import { abortError } from './clock.js';
import { undiciParts } from './undici-parts.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  /** Operation name, for rate limiting, stats and traces (e.g. 'batch_create_inst'). */
  op: string;
  method: HttpMethod;
  /** Appended to the client's base URL path (the base may have a path, e.g. /api/bk-cmdb/prod). */
  path: string;
  headers?: Record<string, string>;
  /** JSON-serialised when present. */
  body?: unknown;
  /** `body` already serialised (the sender does it while the request waits for the rate limiter); sent as it is. */
  payload?: string;
}

export interface HttpResponse {
  status: number;
  /** What was asked: origin + path (no query), for messages that say what answered. */
  url: string;
  /** Bytes of the request body sent (0 without one): a 413 says how big a body the front door refused. */
  sentBytes: number;
  /** Header names lower-case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON when the response is JSON, else undefined. */
  body: unknown;
  text: string;
}

/** Codes of failures that happen before a single byte of the request can have reached the server. */
const NOT_SENT = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'EPROTO',
]);
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;
const TLS_CODE = /^ERR_SSL_|^ERR_TLS_|^SSL_/;

export class TransportError extends Error {
  /** e.g. ECONNREFUSED, ECONNRESET, UND_ERR_HEADERS_TIMEOUT, UND_ERR_SOCKET, ETIMEDOUT */
  readonly code: string;
  /** false only when the request certainly never reached the server (connect refused, DNS, TLS handshake). */
  readonly sent: boolean;
  readonly timeout: boolean;
  /** The server's TLS certificate was not trusted: retrying will not help (configuration: --ca / --insecure). */
  readonly certificate: boolean;
  /** The TLS handshake failed for another reason (https to a plain-HTTP port, no protocol in common): retrying
   *  will not help either. */
  readonly tls: boolean;
  /** The origin (scheme, host, port) the request was for, when known. */
  readonly origin?: string;

  constructor(message: string, opts: { code: string; sent: boolean; timeout?: boolean; certificate?: boolean; tls?: boolean; origin?: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'TransportError';
    this.code = opts.code;
    this.sent = opts.sent;
    this.timeout = opts.timeout ?? false;
    this.certificate = opts.certificate ?? false;
    this.tls = opts.tls ?? false;
    this.origin = opts.origin;
  }

  /** Sorts a low-level error from undici / Node into a TransportError. */
  static from(err: unknown, where: string, origin?: string): TransportError {
    if (err instanceof TransportError) return err;
    const code = errorCode(err);
    const certificate = CERT_CODE.test(code);
    const msg = err instanceof Error && err.message ? err.message : String(err);
    const tls = !certificate && (TLS_CODE.test(code) || (code === 'EPROTO' && /SSL|TLS|version number/i.test(msg)));
    const sent = !(NOT_SENT.has(code) || certificate || tls);
    const timeout = /TIMEOUT|ETIMEDOUT/.test(code);
    return new TransportError(`${where}: ${code}${msg && msg !== code ? ` (${msg})` : ''}`, { code, sent, timeout, certificate, tls, origin, cause: err });
  }
}

/** TLS failures in words, by OpenSSL's reason code (the raw text names source files of OpenSSL). */
const TLS_WORDS: Array<[RegExp, string]> = [
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|wrong version number/i, 'the server on this port does not speak TLS: the URL says https://, but the port answers plain HTTP; try http:// or the HTTPS port'],
  [/UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE/i, 'the server offers only a TLS version this machine refuses (too old); ask for TLS 1.2 or later on the server'],
  [/HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS/i, 'the server and this machine have no TLS cipher in common; check the server\'s TLS settings'],
];

/** What a failed TLS handshake means, for the user: the cause in words, never OpenSSL's text. */
export function tlsProblem(e: TransportError): { message: string; hint: string } {
  const origin = e.origin ?? 'the server';
  if (e.certificate) {
    return { message: `the TLS certificate of ${origin} is not trusted (${e.code})`, hint: 'give the CA with --ca or NODE_EXTRA_CA_CERTS, or (unsafe) --insecure' };
  }
  const words = TLS_WORDS.find(([re]) => re.test(e.code) || re.test(e.message))?.[1];
  return {
    message: `the TLS handshake with ${origin} failed: ${words ?? `the connection could not be secured (${e.code})`}`,
    hint: 'check the scheme (http:// or https://) and the port of the URL (--url), and any proxy (HTTPS_PROXY / NO_PROXY)',
  };
}

function errorCode(err: unknown): string {
  const seen = new Set<unknown>();
  let e: any = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (typeof e.code === 'string' && e.code && e.code !== 'UND_ERR') return e.code;
    if (Array.isArray(e.errors) && e.errors.length) e = e.errors[0]; // AggregateError (happy eyeballs)
    else e = e.cause;
  }
  return 'UND_ERR';
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Injected (tests: MockAgent); otherwise a Pool for the origin, or EnvHttpProxyAgent when a proxy applies. */
  dispatcher?: Dispatcher;
  /** Per request (headers + body), default 60000. */
  timeoutMs?: number;
  /** Pool size, default 8. */
  connections?: number;
  /** Extra CA (PEM) for TLS; NODE_EXTRA_CA_CERTS works by itself through Node. */
  ca?: string | Buffer;
  /** rejectUnauthorized: false (the CLI warns). */
  insecure?: boolean;
  /** --verbose: one line per request and per response, secrets masked. */
  trace?: (line: string) => void;
  /** Exact values to mask anywhere in traces ("***"); a function is asked at each trace (tokens change). */
  secrets?: string[] | (() => string[]);
  userAgent?: string;
}

export interface HttpClient {
  /** `signal` aborts the request even while it is on the wire (rejects with an AbortError, not a TransportError). */
  send(req: HttpRequest, opts?: { signal?: AbortSignal }): Promise<HttpResponse>;
  close(): Promise<void>;
}

const TRACE_BODY_CHARS = 500;

/** True when HTTP(S)_PROXY is set for this origin's scheme (EnvHttpProxyAgent then also honours NO_PROXY). */
function proxyConfigured(url: URL): boolean {
  const env = process.env;
  const v = url.protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
  return !!v;
}

/** A keep-alive Pool for the origin, or EnvHttpProxyAgent when a proxy applies. */
function openDispatcher(base: URL, connections: number, tls: object): Dispatcher {
  const { EnvHttpProxyAgent, Pool } = undiciParts();
  return proxyConfigured(base) ? new EnvHttpProxyAgent({ connections, connect: tls, requestTls: tls }) : new Pool(base.origin, { connections, connect: tls });
}

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const base = new URL(opts.baseUrl);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const tls = {
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.insecure ? { rejectUnauthorized: false } : {}),
  };
  const owned = !opts.dispatcher;
  let opened: Dispatcher | undefined;
  const dispatcher = () => (opened ??= opts.dispatcher ?? openDispatcher(base, opts.connections ?? 8, tls));
  const userAgent = opts.userAgent ?? 'cmdb-bulk';
  const secrets = () => (typeof opts.secrets === 'function' ? opts.secrets() : (opts.secrets ?? []));
  const trace = opts.trace;
  const clip = (s: string) => {
    const m = maskSecrets(s, secrets());
    return m.length > TRACE_BODY_CHARS ? `${m.slice(0, TRACE_BODY_CHARS)}…(${m.length} chars)` : m;
  };

  return {
    async send(req: HttpRequest, sendOpts?: { signal?: AbortSignal }): Promise<HttpResponse> {
      const callerSignal = sendOpts?.signal;
      if (callerSignal?.aborted) throw abortError(callerSignal);
      const d = dispatcher();
      const path = basePath + (req.path.startsWith('/') ? req.path : `/${req.path}`);
      const headers: Record<string, string> = { 'user-agent': userAgent, accept: 'application/json' };
      for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
      let payload: string | undefined;
      if (req.body !== undefined || req.payload !== undefined) {
        payload = req.payload ?? JSON.stringify(req.body);
        headers['content-type'] ??= 'application/json';
      }
      const started = performance.now();
      trace?.(`→ ${req.method} ${origin}${path} [${req.op}]${payload !== undefined ? ` ${clip(payload)}` : ''}`);

      // One deadline for headers + body together; undici's own timeouts cover each part separately.
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, timeoutMs);
      const onCallerAbort = () => ac.abort();
      callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
      try {
        const res = await undiciParts().request(d, {
          origin,
          path,
          method: req.method,
          headers,
          body: payload,
          signal: ac.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const text = await res.body.text();
        const out: HttpResponse = {
          status: res.statusCode,
          url: `${origin}${path}`,
          sentBytes: payload === undefined ? 0 : Buffer.byteLength(payload),
          headers: flatHeaders(res.headers),
          body: parseJson(text, res.headers['content-type']),
          text,
        };
        trace?.(`← ${out.status} ${req.method} ${path} [${req.op}] ${Math.round(performance.now() - started)}ms ${clip(text)}`);
        return out;
      } catch (err) {
        if (callerSignal?.aborted && !timedOut) {
          trace?.(`✗ ${req.method} ${path} [${req.op}] aborted`);
          throw abortError(callerSignal);
        }
        const e = timedOut
          ? new TransportError(`${req.method} ${path}: no complete answer within ${timeoutMs} ms`, { code: 'ETIMEDOUT', sent: true, timeout: true, cause: err })
          : TransportError.from(err, `${req.method} ${origin}${path}`, origin);
        trace?.(`✗ ${req.method} ${path} [${req.op}] ${Math.round(performance.now() - started)}ms ${maskSecrets(e.message, secrets())}`);
        throw e;
      } finally {
        clearTimeout(timer);
        callerSignal?.removeEventListener('abort', onCallerAbort);
      }
    },
    async close() {
      if (owned && opened) await opened.close();
    },
  };
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function parseJson(text: string, contentType: string | string[] | undefined): unknown {
  const ct = String(contentType ?? '').toLowerCase();
  const looksJson = /^\s*[[{]/.test(text);
  if (!ct.includes('json') && !looksJson) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const SECRET_KEYS = 'bk_app_secret|bk_token|app_secret|tenant_access_token|x-bkapi-authorization|authorization';
const JSON_KEY = new RegExp(`("(?:${SECRET_KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
const ESCAPED_JSON_KEY = new RegExp(`(\\\\"(?:${SECRET_KEYS})\\\\"\\s*:\\s*)\\\\".*?\\\\"`, 'gi');
const HEADER_LINE = /((?:^|[\s,{;])(?:x-bkapi-authorization|authorization)\s*:\s*)(?!\s*")[^\r\n]*/gi;
const QUERY_KEY = new RegExp(`((?:^|[?&\\s;,])(?:${SECRET_KEYS})=)[^&\\s"';,]*`, 'gi');
const BEARER = /(\bBearer\s+)[A-Za-z0-9._~+/=-]+/g;

/**
 * Masks secrets in text meant for humans (traces, error messages): the exact `secrets` values wherever they occur
 * (also JSON-escaped and URL-encoded), plus the values of keys bk_app_secret, bk_token, app_secret,
 * tenant_access_token, and Authorization / X-Bkapi-Authorization headers, and any Bearer token.
 */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = String(text);
  out = out.replace(JSON_KEY, '$1"***"');
  out = out.replace(ESCAPED_JSON_KEY, '$1\\"***\\"');
  out = out.replace(HEADER_LINE, '$1***');
  out = out.replace(QUERY_KEY, '$1***');
  out = out.replace(BEARER, '$1***');
  const values = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || !s) continue;
    values.add(s);
    values.add(JSON.stringify(s).slice(1, -1));
    values.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is masked whole.
  for (const v of [...values].sort((a, b) => b.length - a.length)) out = out.split(v).join('***');
  return out;
}
