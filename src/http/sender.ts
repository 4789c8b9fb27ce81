/**
 * The one retry loop. For each attempt: authorize → wait for the throttle → send → classify.
 *
 * What may be re-sent is decided here, once, for every operation:
 * - never reached the server (connect refused, DNS, TLS handshake), or a 429 / rate-limit code → always retried;
 * - may have been applied (timeout or reset after sending, 5xx, 504, a transient verdict) → retried only for
 *   idempotent requests; for creates the pipeline gets an AmbiguousWriteError and checks what exists first.
 */
import { AuthError, CliError, EXIT, UnreachableError } from '../core/errors.js';
import { abortError, realClock, type Clock } from './clock.js';
import { maskSecrets, TransportError, type HttpClient, type HttpRequest, type HttpResponse } from './client.js';
import type { Throttle } from './limiter.js';
import { backoffMs, type RetryPolicy } from './retry.js';

export type Verdict =
  /** A real answer: hand it to the operation (includes business errors). */
  | { kind: 'ok' }
  /** Pause everyone, retry (rateLimitRetries budget). */
  | { kind: 'rate-limited'; waitMs?: number; reason: string }
  /** Retry with backoff, only if safe. */
  | { kind: 'transient'; reason: string }
  /** Drop the token, fetch anew, retry once. */
  | { kind: 'renew-auth'; reason: string }
  /** Stop the run. */
  | { kind: 'fatal'; error: CliError };

export interface Service {
  /** 'cmdb' | 'feishu' */
  name: string;
  /** Adds credentials (body / header / bearer). May throw AuthError / RetriesExhaustedError (token fetch). */
  authorize(req: HttpRequest): Promise<HttpRequest>;
  classify(res: HttpResponse, req: HttpRequest): Verdict;
  /** Drops the cached token. `req` is the authorized request that was refused, so a token that was already
   *  replaced by a concurrent renewal is not dropped again. */
  renewAuth?(req?: HttpRequest): void;
  /** Values to mask. */
  secrets(): string[];
}

export interface SendStats {
  requests: number;
  retries: number;
  rateLimited: number;
  rateLimitWaitMs: number;
}

export function newStats(): SendStats {
  return { requests: 0, retries: 0, rateLimited: 0, rateLimitWaitMs: 0 };
}

/**
 * A non-idempotent request whose outcome is unknown: it may have been applied (timeout or connection reset after
 * sending, 5xx, 504). Never retried here; the pipeline checks what exists before re-sending.
 */
export class AmbiguousWriteError extends Error {
  override readonly cause: unknown;
  readonly status?: number;
  constructor(message: string, opts: { cause?: unknown; status?: number } = {}) {
    super(message);
    this.name = 'AmbiguousWriteError';
    this.cause = opts.cause;
    this.status = opts.status;
  }
}

/**
 * Retries used up. `reachedServer` is false when no attempt got any HTTP answer (server unreachable).
 * It is an UnreachableError, so when it ends the run the exit code is 5.
 */
export class RetriesExhaustedError extends UnreachableError {
  readonly lastError: string;
  readonly reachedServer: boolean;
  readonly status?: number;
  constructor(message: string, opts: { lastError: string; reachedServer: boolean; status?: number }) {
    super(
      message,
      opts.reachedServer ? 'the server kept failing; try again later or lower --concurrency / --rate' : 'check the URL, the network and any proxy (HTTPS_PROXY / NO_PROXY)',
    );
    this.lastError = opts.lastError;
    this.reachedServer = opts.reachedServer;
    this.status = opts.status;
  }
}

/**
 * A server that echoes a secret in an answer (a message, a per-row error) must not get it into the report or the
 * terminal: the exact values (also JSON-escaped) become "***" in the text and the parsed body. Only those values,
 * nothing else in the data, is changed.
 */
export function scrubAnswer(res: HttpResponse, secrets: string[]): HttpResponse {
  let text = res.text;
  for (const s of secrets) {
    if (!s) continue;
    for (const v of new Set([s, JSON.stringify(s).slice(1, -1)])) if (text.includes(v)) text = text.split(v).join('***');
  }
  if (text === res.text) return res;
  let body = res.body;
  if (body !== undefined) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { ...res, text, body };
}

/** Small random extra wait after a 429, so paused callers do not all come back in the same millisecond. */
const RATE_LIMIT_JITTER_MS = 50;
const MIN_RATE_LIMIT_WAIT_MS = 100;

export class Sender {
  readonly stats: SendStats;
  private readonly client: HttpClient;
  private readonly service: Service;
  private readonly throttle: Throttle;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly signal?: AbortSignal;

  constructor(opts: {
    client: HttpClient;
    service: Service;
    throttle: Throttle;
    policy: RetryPolicy;
    clock?: Clock;
    stats?: SendStats;
    random?: () => number;
    signal?: AbortSignal;
  }) {
    this.client = opts.client;
    this.service = opts.service;
    this.throttle = opts.throttle;
    this.policy = opts.policy;
    this.clock = opts.clock ?? realClock;
    this.stats = opts.stats ?? newStats();
    this.random = opts.random ?? Math.random;
    this.signal = opts.signal;
  }

  /**
   * Sends with rate limiting and retries. `idempotent`: updates (safe to re-send) vs creates (not).
   * The signal stops waits (throttle, backoff, pause) promptly and aborts a request on the wire; either way the
   * promise rejects with an AbortError (for a write already sent, the caller cannot know whether it was applied).
   */
  async send(req: HttpRequest, opts: { idempotent: boolean; signal?: AbortSignal }): Promise<HttpResponse> {
    const signal = opts.signal && this.signal ? AbortSignal.any([opts.signal, this.signal]) : (opts.signal ?? this.signal);
    const { policy, service } = this;
    const label = `${service.name} ${req.op}`;
    let failures = 0; // transient failures so far (retries budget)
    let rateLimits = 0; // 429s so far (rateLimitRetries budget)
    let renewed = false; // the previous attempt ended in renew-auth
    let reachedServer = false;
    let lastError = '';
    let lastStatus: number | undefined;
    let isRetry = false; // this attempt re-sends after a failure or a token renewal (not after a 429)

    const retryLater = async (): Promise<void> => {
      failures++;
      if (failures > policy.retries) {
        throw new RetriesExhaustedError(
          `${label}: ${reachedServer ? 'the server kept failing' : 'the server could not be reached'} after ${failures} attempts (last: ${lastError})`,
          { lastError, reachedServer, status: lastStatus },
        );
      }
      await this.clock.sleep(backoffMs(policy, failures, this.random), signal);
      isRetry = true;
    };

    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      // Authorize before taking a rate slot: a slow token fetch must not bunch up already granted slots.
      let authed: HttpRequest;
      try {
        authed = await service.authorize(req);
      } catch (e) {
        // The token endpoint failing is not an answer to this request: it was never sent.
        if (e instanceof RetriesExhaustedError && e.reachedServer) {
          throw new RetriesExhaustedError(`${label}: not sent, authentication failed: ${e.message}`, { lastError: e.lastError, reachedServer: false, status: e.status });
        }
        throw e;
      }
      // Tracked: the slot counts from when this request finished, so arrival jitter cannot crowd a window.
      const release = await this.throttle.acquire(req.op, signal, { tracked: true });
      if (isRetry) this.stats.retries++;
      isRetry = false;
      this.stats.requests++;

      let res: HttpResponse;
      try {
        res = await this.client.send(authed, { signal }).finally(release);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = maskSecrets(err.message, service.secrets());
        if (err.certificate) {
          throw new CliError(`${label}: the server's TLS certificate is not trusted (${err.code})`, EXIT.AUTH,
            'give the CA with --ca or NODE_EXTRA_CA_CERTS, or (unsafe) --insecure');
        }
        if (err.sent && !opts.idempotent) {
          throw new AmbiguousWriteError(`${label}: ${lastError}; the request may have been applied`, { cause: err });
        }
        await retryLater();
        continue;
      }

      reachedServer = true;
      lastStatus = res.status;
      const verdict = service.classify(res, authed);
      if (verdict.kind !== 'renew-auth') renewed = false;
      switch (verdict.kind) {
        case 'ok':
          return scrubAnswer(res, service.secrets());
        case 'fatal':
          throw verdict.error;
        case 'renew-auth':
          if (renewed) throw new AuthError(`${label}: the server refused a freshly fetched token (${verdict.reason})`);
          renewed = true;
          service.renewAuth?.(authed);
          isRetry = true;
          continue;
        case 'rate-limited': {
          lastError = verdict.reason;
          rateLimits++;
          if (rateLimits > policy.rateLimitRetries) {
            throw new RetriesExhaustedError(`${label}: still rate limited after ${rateLimits} waits (${verdict.reason})`, {
              lastError, reachedServer, status: lastStatus,
            });
          }
          // A reset of "0" would retry at once into the same window: wait a little at least.
          const wait =
            verdict.waitMs !== undefined
              ? Math.max(MIN_RATE_LIMIT_WAIT_MS, verdict.waitMs)
              : policy.defaultRateLimitWaitMs + Math.round(this.random() * RATE_LIMIT_JITTER_MS);
          this.stats.rateLimited++;
          this.stats.rateLimitWaitMs += wait;
          this.throttle.pauseAll(wait, `${label}: ${verdict.reason}`);
          continue; // the next acquire waits out the pause
        }
        case 'transient':
          lastError = verdict.reason;
          if (!opts.idempotent) {
            throw new AmbiguousWriteError(`${label}: ${verdict.reason}; the request may have been applied`, { status: res.status });
          }
          await retryLater();
          continue;
      }
    }
  }
}
