/**
 * Retry policy as data, and the retry decision as one pure function of it (got's calculate-retry-delay is the
 * model): what the last attempt came to, how many attempts so far, whether the request may be sent twice →
 * wait this long and send again, or stop and say why. The Sender only carries the decision out; tests call
 * `nextRetry` with a table. Tests scale waits down (baseMs: 1) or drive them with a manual clock.
 */

export interface RetryPolicy {
  /** Re-sends after a transient failure (5xx, network error), on top of the first attempt. */
  retries: number;
  baseMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: how much of each delay is randomised away (0.5 → between 50% and 100% of the nominal delay). */
  jitter: number;
  /** Separate budget for 429s: waiting out a rate limit is not a failure. */
  rateLimitRetries: number;
  /** Wait after a 429 that carries no reset header. */
  defaultRateLimitWaitMs: number;
  /** A server that asks for a longer pause than this (Retry-After, reset header) is not waited for: the run stops. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retries: 5,
  baseMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  rateLimitRetries: 20,
  defaultRateLimitWaitMs: 1_000,
  maxRetryAfterMs: 5 * 60_000,
});

/** What an attempt that is worth thinking about again came to. */
export type Failure =
  /** The request certainly never reached the server (connect refused, DNS): safe to send again, always. */
  | { kind: 'unreached' }
  /** It may have been applied (5xx, timeout or reset after sending, an unreadable answer). */
  | { kind: 'unclear' }
  /** The server asked us to slow down (429, a rate-limit code, 503 with Retry-After); `waitMs` when it said how long. */
  | { kind: 'rate-limited'; waitMs?: number };

export interface Attempt {
  failure: Failure;
  /** May the request be applied twice without harm (updates, look-ups; not creates)? */
  idempotent: boolean;
  /** Unreached and unclear failures so far, this one included. */
  failures: number;
  /** Rate-limit answers so far, this one included. */
  rateLimits: number;
}

export type RetryStep =
  /** Wait `delayMs`, then send again; `pauseAll`: every request to this server waits too (a rate limit). */
  | { retry: true; delayMs: number; pauseAll: boolean }
  | { retry: false; why: StopReason };

export type StopReason =
  /** A write that may have been applied: never re-sent blindly (the pipeline finds out what happened). */
  | 'unclear-write'
  /** `retries` used up. */
  | 'retries-used'
  /** `rateLimitRetries` used up. */
  | 'rate-limit-waits-used'
  /** The server asked for a pause longer than `maxRetryAfterMs`. */
  | 'wait-too-long';

/** Small random extra wait after a 429 without a reset time, so paused callers do not all come back at once. */
const RATE_LIMIT_JITTER_MS = 50;
/** A reset of "0" would retry at once into the same window: wait a little at least. */
const MIN_RATE_LIMIT_WAIT_MS = 100;

/** Whether and when to send again. Pure: same inputs (and `random`), same answer. */
export function nextRetry(policy: RetryPolicy, a: Attempt, random: () => number = Math.random): RetryStep {
  const f = a.failure;
  if (f.kind === 'rate-limited') {
    if (a.rateLimits > policy.rateLimitRetries) return { retry: false, why: 'rate-limit-waits-used' };
    if (f.waitMs !== undefined && f.waitMs > policy.maxRetryAfterMs) return { retry: false, why: 'wait-too-long' };
    const delayMs = f.waitMs !== undefined ? Math.max(MIN_RATE_LIMIT_WAIT_MS, f.waitMs) : policy.defaultRateLimitWaitMs + Math.round(random() * RATE_LIMIT_JITTER_MS);
    return { retry: true, delayMs, pauseAll: true };
  }
  if (f.kind === 'unclear' && !a.idempotent) return { retry: false, why: 'unclear-write' };
  if (a.failures > policy.retries) return { retry: false, why: 'retries-used' };
  return { retry: true, delayMs: backoffMs(policy, a.failures, random), pauseAll: false };
}

/** Delay before retry number `attempt` (1 = first retry): base·factor^(attempt-1), capped, then jittered down. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const nominal = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, n - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(nominal * (1 - jitter * random())));
}

/**
 * A server's "come back in …" as ms: Retry-After (seconds, or an HTTP date), or a reset header in seconds that
 * may be fractional (x-bkapi-ratelimit-reset, x-ogw-ratelimit-reset). undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return /[a-z]/i.test(v) && Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
