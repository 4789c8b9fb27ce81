/**
 * Retry policy as data: how many times, how long. Tests scale it down (baseMs: 1) or drive it with a ManualClock.
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
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retries: 5,
  baseMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  rateLimitRetries: 20,
  defaultRateLimitWaitMs: 1_000,
});

/** Delay before retry number `attempt` (1 = first retry): base·factor^(attempt-1), capped, then jittered down. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const nominal = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, n - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(nominal * (1 - jitter * random())));
}
