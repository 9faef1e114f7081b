// Retrying one step of a transfer (a part, or initiate/complete/abort) when it
// failed in a way that may pass: MinIO unreachable, a connection reset, a
// timeout, a 5xx. Delays grow exponentially with full jitter so that parts
// that failed together do not come back together.

import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../../protocol/errors';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * 0.25 + 0.5 + 1 + 2 + 4 s at most between six tries: rides out a MinIO
 * restart (a couple of seconds here) without holding a failed store for long.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 4000 };

export function isTransient(err: unknown): boolean {
  return err instanceof StorageError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT');
}

/**
 * Runs `step` until it succeeds, fails for good, runs out of attempts, or
 * `stop` fires (then the last error is thrown at once).
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  stop: AbortSignal | undefined,
  step: () => Promise<T>,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransient(err) || attempt >= policy.attempts || stop?.aborted === true) throw err;
      onRetry?.(err, attempt);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      try {
        await sleep(Math.random() * ceiling, undefined, stop === undefined ? undefined : { signal: stop });
      } catch {
        throw err;
      }
    }
  }
}
