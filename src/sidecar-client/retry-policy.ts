// Retries of calls that are safe to repeat, for errors the daemon or the
// transport marks `retryable` (UNAVAILABLE, TIMEOUT, TOO_MANY_IN_FLIGHT, RATE_LIMITED,
// CLOSED): exponential back-off with full jitter (a random wait between 0 and
// min(maxDelayMs, minDelayMs × 2^n), so clients that failed together do not
// come back together), at most `retries` more tries, and none begun once
// `deadlineMs` has passed since the first. When the daemon says when to come
// back (`details.retryAfterSeconds`, the gateway's Retry-After: a rate limit,
// a full memory budget or call queue), the wait is at least that long, since
// an earlier try would only be refused again and spend the caller's tries and
// the daemon's work; if that hint runs past the deadline, the error is
// returned at once instead of after a wait that cannot help. Which calls are
// safe is StorageClient's decision (storage-client.ts); this only repeats.

import { StorageError } from '../protocol/errors';
import { abortReason } from '../protocol/call-options';

export interface RetryConfig {
  /** Tries after the first (default 3; 0 turns retrying off). */
  retries?: number;
  /** The first back-off's upper bound (default 100 ms); each later one doubles it. */
  minDelayMs?: number;
  /** Largest back-off (default 2000 ms). */
  maxDelayMs?: number;
  /** No try begins later than this after the first began (default 15 s). A try in flight runs to its own timeout. */
  deadlineMs?: number;
  /** A number in [0, 1) (tests); Math.random by default. */
  random?: () => number;
}

interface ResolvedRetry {
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  deadlineMs: number;
  random: () => number;
}

function count(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new RangeError(`retry.${name} must be a number between 0 and ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveRetry(config: RetryConfig | false | undefined): ResolvedRetry {
  if (config === false) return { retries: 0, minDelayMs: 0, maxDelayMs: 0, deadlineMs: 0, random: Math.random };
  if (config !== undefined && (typeof config !== 'object' || config === null)) {
    throw new TypeError('retry must be an object { retries, minDelayMs, maxDelayMs, deadlineMs } or false');
  }
  const retries = count('retries', config?.retries, 3, 100);
  if (!Number.isInteger(retries)) throw new RangeError(`retry.retries must be an integer, got ${retries}`);
  const minDelayMs = count('minDelayMs', config?.minDelayMs, 100, 3_600_000);
  const maxDelayMs = count('maxDelayMs', config?.maxDelayMs, Math.max(2000, minDelayMs), 3_600_000);
  if (maxDelayMs < minDelayMs) throw new RangeError(`retry.maxDelayMs (${maxDelayMs}) must not be less than retry.minDelayMs (${minDelayMs})`);
  const deadlineMs = count('deadlineMs', config?.deadlineMs, 15_000, 24 * 3_600_000);
  const random = config?.random ?? Math.random;
  if (typeof random !== 'function') throw new TypeError('retry.random must be a function');
  return { retries, minDelayMs, maxDelayMs, deadlineMs, random };
}

export function isRetryable(err: unknown): boolean {
  return err instanceof StorageError && err.retryable;
}

/** The hint's longest honoured wait: a larger figure is a daemon's mistake, not a reason to sleep for a day. */
const MAX_HINT_MS = 3_600_000;

/** The daemon's "come back after" hint on a retryable error, in ms, or 0 when it gave none (or gave nonsense). */
export function retryHintMs(err: unknown): number {
  if (!(err instanceof StorageError)) return 0;
  const seconds = err.details?.retryAfterSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(MAX_HINT_MS, Math.ceil(seconds * 1000));
}

export class RetryPolicy {
  readonly #config: ResolvedRetry;

  constructor(config: RetryConfig | false | undefined) {
    this.#config = resolveRetry(config);
  }

  get retries(): number {
    return this.#config.retries;
  }

  /** The wait before try `n + 1` (n ≥ 1 tries made so far): full jitter over the doubled bound. */
  backoffMs(n: number): number {
    const { minDelayMs, maxDelayMs, random } = this.#config;
    const bound = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(n - 1, 30));
    return Math.floor(random() * bound);
  }

  /**
   * Runs `attempt` (given the try's number, from 1) until it succeeds, fails
   * with an error that is not retryable, `mayRetry` says no, or tries or
   * deadline run out; then rejects with the last error. `signal` ends the
   * wait between tries.
   */
  async run<T>(attempt: (n: number) => Promise<T>, signal: AbortSignal | undefined, mayRetry: () => boolean = () => true): Promise<T> {
    const started = performance.now();
    try {
      return await attempt(1);
    } catch (err) {
      return this.after(err, started, attempt, signal, mayRetry);
    }
  }

  /**
   * As run, once the first try (begun at `started`, performance.now()) failed
   * with `first`: lets a caller make the first try without an async frame.
   */
  async after<T>(
    first: unknown,
    started: number,
    attempt: (n: number) => Promise<T>,
    signal: AbortSignal | undefined,
    mayRetry: () => boolean = () => true,
  ): Promise<T> {
    let err = first;
    for (let n = 1; ; n++) {
      if (n > this.#config.retries || !isRetryable(err) || !mayRetry() || signal?.aborted) throw err;
      const wait = Math.max(this.backoffMs(n), retryHintMs(err));
      if (performance.now() - started + wait > this.#config.deadlineMs) throw err;
      await sleep(wait, signal);
      try {
        return await attempt(n + 1);
      } catch (next) {
        err = next;
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
