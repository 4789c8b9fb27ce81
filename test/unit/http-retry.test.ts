import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, backoffMs, nextRetry, retryAfterMs, type Attempt, type RetryPolicy, type RetryStep } from '../../src/http/retry.js';

const POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retries: 3, rateLimitRetries: 2 };
const NO_JITTER = () => 0;

describe('nextRetry: the whole retry decision as a table', () => {
  const cases: Array<[string, Attempt, RetryStep]> = [
    // never reached the server: safe for anything, with backoff
    ['unreached create, 1st failure', { failure: { kind: 'unreached' }, idempotent: false, failures: 1, rateLimits: 0 }, { retry: true, delayMs: 500, pauseAll: false }],
    ['unreached update, 3rd failure', { failure: { kind: 'unreached' }, idempotent: true, failures: 3, rateLimits: 0 }, { retry: true, delayMs: 2000, pauseAll: false }],
    ['unreached, retries used', { failure: { kind: 'unreached' }, idempotent: true, failures: 4, rateLimits: 0 }, { retry: false, why: 'retries-used' }],
    // may have been applied: only what may be applied twice is re-sent
    ['unclear update, 1st failure', { failure: { kind: 'unclear' }, idempotent: true, failures: 1, rateLimits: 0 }, { retry: true, delayMs: 500, pauseAll: false }],
    ['unclear update, 2nd failure', { failure: { kind: 'unclear' }, idempotent: true, failures: 2, rateLimits: 0 }, { retry: true, delayMs: 1000, pauseAll: false }],
    ['unclear update, retries used', { failure: { kind: 'unclear' }, idempotent: true, failures: 4, rateLimits: 0 }, { retry: false, why: 'retries-used' }],
    ['unclear create, 1st failure', { failure: { kind: 'unclear' }, idempotent: false, failures: 1, rateLimits: 0 }, { retry: false, why: 'unclear-write' }],
    // rate limited: never applied; everyone pauses; a budget of its own that failures do not use up
    ['429 with a reset of 2.5 s', { failure: { kind: 'rate-limited', waitMs: 2500 }, idempotent: false, failures: 0, rateLimits: 1 }, { retry: true, delayMs: 2500, pauseAll: true }],
    ['429 with a reset of 0', { failure: { kind: 'rate-limited', waitMs: 0 }, idempotent: false, failures: 0, rateLimits: 1 }, { retry: true, delayMs: 100, pauseAll: true }],
    ['429 without a reset', { failure: { kind: 'rate-limited' }, idempotent: true, failures: 0, rateLimits: 1 }, { retry: true, delayMs: 1000, pauseAll: true }],
    ['429 after 3 failures (retries nearly used)', { failure: { kind: 'rate-limited', waitMs: 300 }, idempotent: true, failures: 3, rateLimits: 2 }, { retry: true, delayMs: 300, pauseAll: true }],
    ['429, waits used', { failure: { kind: 'rate-limited', waitMs: 300 }, idempotent: true, failures: 0, rateLimits: 3 }, { retry: false, why: 'rate-limit-waits-used' }],
    ['503 + Retry-After: 1 hour', { failure: { kind: 'rate-limited', waitMs: 3_600_000 }, idempotent: false, failures: 0, rateLimits: 1 }, { retry: false, why: 'wait-too-long' }],
    ['Retry-After exactly the maximum', { failure: { kind: 'rate-limited', waitMs: 300_000 }, idempotent: false, failures: 0, rateLimits: 1 }, { retry: true, delayMs: 300_000, pauseAll: true }],
  ];
  it.each(cases)('%s', (_, attempt, step) => {
    expect(nextRetry(POLICY, attempt, NO_JITTER)).toEqual(step);
  });

  it('is pure: the same attempt and random give the same step', () => {
    const a: Attempt = { failure: { kind: 'unclear' }, idempotent: true, failures: 2, rateLimits: 0 };
    expect(nextRetry(POLICY, a, () => 0.3)).toEqual(nextRetry(POLICY, a, () => 0.3));
  });

  it('jitters backoff down by at most `jitter`, and a 429 without reset up by at most 50 ms', () => {
    expect(nextRetry(POLICY, { failure: { kind: 'unreached' }, idempotent: true, failures: 1, rateLimits: 0 }, () => 0.999999)).toEqual({ retry: true, delayMs: 250, pauseAll: false });
    expect(nextRetry(POLICY, { failure: { kind: 'rate-limited' }, idempotent: true, failures: 0, rateLimits: 1 }, () => 1)).toEqual({ retry: true, delayMs: 1050, pauseAll: true });
  });
});

describe('backoffMs', () => {
  it('grows by the factor, caps at maxMs, and jitters down by at most `jitter`', () => {
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, NO_JITTER)).toBe(500);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 2, NO_JITTER)).toBe(1000);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 3, NO_JITTER)).toBe(2000);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 20, NO_JITTER)).toBe(30_000);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, () => 0.999999)).toBe(250);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-02T08:00:00Z');
  it.each([
    ['2', 2000],
    ['0.25', 250],
    ['0', 0],
    ['Wed, 02 Dec 2026 08:00:30 GMT', 30_000],
    ['Wed, 02 Dec 2026 07:59:00 GMT', 0],
    ['soon', undefined],
    ['-3', undefined],
    [undefined, undefined],
  ])('%j → %j ms', (value, ms) => expect(retryAfterMs(value, now)).toBe(ms));
});
