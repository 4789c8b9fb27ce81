/**
 * Time, injectable. Everything in src/http that waits (rate limiter, backoff, shared 429 pause,
 * token renewal) asks a Clock, so tests run "waits" of minutes in microseconds (test/support/manual-clock.ts).
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with an AbortError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Rejection of anything in src/http that stopped waiting because its AbortSignal fired. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export function abortError(signal?: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal?.reason });
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};
