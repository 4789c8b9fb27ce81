/**
 * The one retry loop. For each attempt: authorize → wait for the throttle → send → classify → decide.
 * Every request of a server goes through here, the Feishu token fetch included, so all of them share one
 * throttle, one 429 pause and the run's abort signal.
 *
 * What may be re-sent is decided in one pure function, `nextRetry` (retry.ts), for every operation:
 * - never reached the server (connect refused, DNS), or a rate limit (429, a rate-limit code, 503 + Retry-After)
 *   → always retried;
 * - may have been applied (timeout or reset after sending, 5xx, 504, a transient verdict) → retried only for
 *   idempotent requests; for creates the pipeline gets an AmbiguousWriteError and checks what exists first;
 * - TLS failures, a front door that is not the API, refused credentials → never retried (a fatal verdict).
 */
import { AuthError, CliError, EXIT, UnreachableError } from '../core/errors.js';
import { abortError, realClock, type Clock } from './clock.js';
import { maskSecrets, tlsProblem, TransportError, type HttpClient, type HttpRequest, type HttpResponse } from './client.js';
import type { Throttle } from './limiter.js';
import { nextRetry, type Failure, type RetryPolicy, type StopReason } from './retry.js';

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
  /** Adds credentials (body / header / bearer). May throw AuthError / RetriesExhaustedError (token fetch); `signal`
   *  stops a token fetch it starts. */
  authorize(req: HttpRequest, signal?: AbortSignal): Promise<HttpRequest>;
  classify(res: HttpResponse, req: HttpRequest): Verdict;
  /**
   * The authorized request again with newer credentials, if the service has them at hand (no fetch), else undefined:
   * a request that waited for the rate limiter goes with the token renewed meanwhile, not one that may have expired.
   */
  refresh?(req: HttpRequest): HttpRequest | undefined;
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

export class Sender {
  readonly stats: SendStats;
  private readonly client: HttpClient;
  private readonly service: Service;
  private readonly throttle: Throttle;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly signal?: AbortSignal;
  private readonly placeless: boolean;

  constructor(opts: {
    client: HttpClient;
    service: Service;
    throttle: Throttle;
    policy: RetryPolicy;
    clock?: Clock;
    stats?: SendStats;
    random?: () => number;
    signal?: AbortSignal;
    /** Its requests take no place among the requests in flight (the token fetch, which they may all wait for). */
    placeless?: boolean;
  }) {
    this.placeless = !!opts.placeless;
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
    const { service } = this;
    const label = `${service.name} ${req.op}`;
    let failures = 0; // unreached and unclear failures so far (retries budget)
    let rateLimits = 0; // rate-limit answers so far (rateLimitRetries budget)
    let renewed = false; // the previous attempt ended in renew-auth
    let reachedServer = false;
    let lastError = '';
    let lastStatus: number | undefined;
    let lastCause: unknown; // the transport error of the last attempt, if it ended in one
    let isRetry = false; // this attempt re-sends after a failure or a token renewal (not after a 429)

    /** Carries out the retry decision for a failure: waits and returns, or throws why it stops. */
    const afterFailure = async (failure: Failure): Promise<void> => {
      if (failure.kind === 'rate-limited') rateLimits++;
      else failures++;
      const step = nextRetry(this.policy, { failure, idempotent: opts.idempotent, failures, rateLimits }, this.random);
      if (!step.retry) throw this.stopError(step.why, { label, lastError, reachedServer, lastStatus, lastCause, failures, rateLimits });
      if (step.pauseAll) {
        this.stats.rateLimited++;
        this.stats.rateLimitWaitMs += step.delayMs;
        this.throttle.pauseAll(step.delayMs, `${label}: ${lastError}`); // the next acquire waits out the pause
        return;
      }
      await this.clock.sleep(step.delayMs, signal);
      isRetry = true;
    };

    // A request retried after a failure keeps its place in flight through the backoff, so the requests waiting behind
    // it do not go to a failing server meanwhile (the place is freed when send ends, whichever way).
    let holding = false;
    try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      // Authorize before taking a rate slot: a slow token fetch must not bunch up already granted slots.
      let authed: HttpRequest;
      try {
        authed = await service.authorize(req, signal);
      } catch (e) {
        // The token endpoint failing is not an answer to this request: it was never sent.
        if (e instanceof RetriesExhaustedError && e.reachedServer) {
          throw new RetriesExhaustedError(`${label}: not sent, authentication failed: ${e.message}`, { lastError: e.lastError, reachedServer: false, status: e.status });
        }
        throw e;
      }
      // Serialised before the wait for the rate limiter, so a granted request goes at once (issue 16).
      if (authed.body !== undefined && authed.payload === undefined) authed = { ...authed, payload: JSON.stringify(authed.body) };
      // Tracked: the limiter learns when it finished (its windows, and its place among the requests in flight).
      const release = await this.throttle.acquire(req.op, signal, { tracked: true, place: this.placeless ? 'none' : holding ? 'carried' : 'take' });
      holding = false;
      authed = service.refresh?.(authed) ?? authed;
      if (isRetry) this.stats.retries++;
      isRetry = false;
      this.stats.requests++;

      let res: HttpResponse;
      try {
        res = await this.client.send(authed, { signal });
      } catch (err) {
        const tls = err instanceof TransportError && (err.certificate || err.tls);
        if (tls) this.throttle.cancelWaiting();
        holding = err instanceof TransportError && !tls && !this.placeless;
        release({ keepPlace: holding });
        if (!(err instanceof TransportError)) throw err;
        lastError = maskSecrets(err.message, service.secrets());
        lastCause = err;
        if (err.certificate || err.tls) {
          const p = tlsProblem(err);
          throw new CliError(`${label}: ${p.message}`, EXIT.AUTH, p.hint);
        }
        await afterFailure(err.sent ? { kind: 'unclear' } : { kind: 'unreached' });
        continue;
      }

      reachedServer = true;
      lastStatus = res.status;
      lastCause = undefined;
      const verdict = service.classify(res, authed);
      // An answer that stops the run: the requests waiting for the limiter give up (never sent) before this one's
      // place frees, so none of them is granted in between (docs/decisions.md, "Requests in flight").
      if (verdict.kind === 'fatal') this.throttle.cancelWaiting();
      holding = (verdict.kind === 'transient' || verdict.kind === 'rate-limited') && !this.placeless;
      release({ keepPlace: holding });
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
        case 'rate-limited':
          lastError = verdict.reason;
          await afterFailure({ kind: 'rate-limited', waitMs: verdict.waitMs });
          continue;
        case 'transient':
          lastError = verdict.reason;
          await afterFailure({ kind: 'unclear' });
          continue;
      }
    }
    } finally {
      if (holding) this.throttle.inFlight?.free();
    }
  }

  /** The error that ends `send` when the retry decision is to stop. */
  private stopError(
    why: StopReason,
    s: { label: string; lastError: string; reachedServer: boolean; lastStatus?: number; lastCause?: unknown; failures: number; rateLimits: number },
  ): Error {
    const { label, lastError, reachedServer, lastStatus: status } = s;
    switch (why) {
      case 'unclear-write':
        return new AmbiguousWriteError(`${label}: ${lastError}; the request may have been applied`, s.lastCause ? { cause: s.lastCause } : { status });
      case 'rate-limit-waits-used':
        return new RetriesExhaustedError(`${label}: still rate limited after ${s.rateLimits} waits (${lastError})`, { lastError, reachedServer, status });
      case 'wait-too-long':
        return new RetriesExhaustedError(`${label}: the server asks to wait longer than ${Math.round(this.policy.maxRetryAfterMs / 1000)} s before trying again (${lastError})`, { lastError, reachedServer, status });
      case 'retries-used':
        return new RetriesExhaustedError(
          `${label}: ${reachedServer ? 'the server kept failing' : 'the server could not be reached'} after ${s.failures} attempts (last: ${lastError})`,
          { lastError, reachedServer, status },
        );
    }
  }
}
