// Per-token request rates of the HTTP gateway (STORAGED_GATEWAY_RATE): one
// token bucket per configured token, so one caller spending its allowance
// never spends another's. A bucket is two numbers and a subtraction; the
// libraries that offer one (rate-limiter-flexible, limiter) bring stores,
// timers or promises the gateway does not need on every request, so it is
// written here.
//
// Syntax: `<n>/s`, `<n>/min` or `<n>/h`, optionally followed by `,burst=<m>`
// (`50/s`, `50/s,burst=200`, `600/min`); `off` (the default) turns it off. The
// burst is how many requests a token may send at once after a quiet spell; by
// default one second's worth (at least 1).

export interface RequestRate {
  /** Requests a token may make per second, on average. */
  perSecond: number;
  /** Requests a token may make at once. */
  burst: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, min: 60, h: 3600 };
const RATE_SYNTAX = /^(\d+(?:\.\d+)?)\s*\/\s*(s|min|h)\s*(?:,\s*burst\s*=\s*(\d+))?$/;
export const MAX_RATE_PER_SECOND = 1_000_000;
export const MAX_BURST = 1_000_000;

/** The rate `text` says, null for `off`; throws an Error whose message says what was expected. */
export function parseRequestRate(text: string): RequestRate | null {
  if (text === 'off') return null;
  const match = RATE_SYNTAX.exec(text);
  if (match === null) throw new Error(`expected off or a rate like 50/s, 600/min or 50/s,burst=200, got '${text}'`);
  const perSecond = Number(match[1]) / UNIT_SECONDS[match[2]!]!;
  if (!(perSecond > 0) || perSecond > MAX_RATE_PER_SECOND) {
    throw new Error(`expected a rate above 0 and at most ${MAX_RATE_PER_SECOND}/s, got '${text}'`);
  }
  const burst = match[3] === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(match[3]);
  if (!Number.isSafeInteger(burst) || burst < 1 || burst > MAX_BURST) {
    throw new Error(`expected a burst between 1 and ${MAX_BURST}, got '${text}'`);
  }
  return { perSecond, burst };
}

/** One key's allowance (the gateway's per-token rate, auth-failures.ts' per-address count). */
export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, the clock's). */
  at: number;
}

/** Brings `bucket` up to `now`: what `rate` has given back since, up to its burst. */
export function refill(bucket: Bucket, rate: RequestRate, now: number): void {
  bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
  bucket.at = now;
}

/** The whole seconds (at least 1) until a bucket holding `tokens` (below 1) has one again. */
export function secondsUntilOne(tokens: number, rate: RequestRate): number {
  return Math.max(1, Math.ceil((1 - tokens) / rate.perSecond));
}

export class RequestBuckets {
  readonly #rate: RequestRate;
  readonly #now: () => number;
  /** One per token that has made a request; bounded by the tokens configured, since only known tokens get here. */
  readonly #buckets = new Map<number, Bucket>();

  constructor(rate: RequestRate, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#now = now;
  }

  /** Takes one request from token `key`'s allowance: 0 when it may go on, else the whole seconds until it may. */
  take(key: number): number {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#rate.burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      refill(bucket, this.#rate, now);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return secondsUntilOne(bucket.tokens, this.#rate);
  }
}
