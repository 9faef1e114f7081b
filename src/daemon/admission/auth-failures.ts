// Failed authentications, counted so that guessing a token is slow: one
// token bucket of failures per key (a remote address on the gateway; a Unix
// user on the socket, or the whole socket where the user cannot be read),
// spent by each wrong token and refilled at the rate of
// STORAGED_AUTH_FAILURE_RATE / STORAGED_SOCKET_AUTH_FAILURE_RATE.
// While a key's allowance is spent, its attempts are refused before the token
// is looked at, so a right guess is not told from a wrong one either.
//
// An attacker can vary its address, so the keys are bounded: a key whose
// bucket has filled up again is the same as no key and is dropped when next
// looked at, and past MAX_KEYS the key that failed longest ago makes room.
// Spraying addresses thus buys the attacker a burst per address, which it had
// anyway; it never buys memory. IPv6 peers are keyed by their /64, the block
// one host is usually given, so a single host cannot become 2^64 keys.

import { refill, secondsUntilOne, type Bucket as RateBucket, type RequestRate } from './request-rate';

/** Keys kept at once: a few hundred bytes each, so about a megabyte at most. */
export const DEFAULT_MAX_KEYS = 10_000;

interface Bucket extends RateBucket {
  /** Whether the spell in which this key ran out was already logged. */
  told: boolean;
}

export interface AuthFailureStats {
  /** Credentials refused as wrong. */
  failures: number;
  /** Attempts refused RATE_LIMITED before their credential was checked. */
  refused: number;
  /** Keys counted now. */
  keys: number;
}

export class AuthFailures {
  readonly rate: RequestRate;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** In order of last failure: the first is the one to drop when full. */
  readonly #buckets = new Map<string, Bucket>();
  #failures = 0;
  #refused = 0;

  constructor(rate: RequestRate, options: { maxKeys?: number; now?: () => number } = {}) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.rate = rate;
    this.#maxKeys = maxKeys;
    this.#now = options.now ?? (() => performance.now());
  }

  /** 0 when `key` may present a credential now, else the whole seconds until it may (and the attempt counts as refused). */
  check(key: string): number {
    const bucket = this.#current(key);
    if (bucket === undefined || bucket.tokens >= 1) return 0;
    this.#refused += 1;
    return secondsUntilOne(bucket.tokens, this.rate);
  }

  /** `key` presented a wrong credential. True when this one spent its allowance (worth a line in the log, once a spell). */
  fail(key: string): boolean {
    this.#failures += 1;
    let bucket = this.#current(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.rate.burst, at: this.#now(), told: false };
    }
    // Last in the map: the most recent failure is the last to make room.
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    if (bucket.tokens >= 1 || bucket.told) return false;
    bucket.told = true;
    return true;
  }

  stats(): AuthFailureStats {
    return { failures: this.#failures, refused: this.#refused, keys: this.#buckets.size };
  }

  /** `key`'s bucket brought up to date, or undefined when it has none (or a full one, which is dropped). */
  #current(key: string): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return undefined;
    refill(bucket, this.rate, this.#now());
    if (bucket.tokens < this.rate.burst) return bucket;
    this.#buckets.delete(key);
    return undefined;
  }
}

/**
 * The key of a caller's address: IPv4 as it is (an IPv4-mapped IPv6 address
 * included), IPv6 by its first 64 bits. The address is the connection's own,
 * or the one a proxy listed in STORAGED_TRUSTED_PROXIES forwarded
 * (gateway/trusted-proxies.ts); never what the caller itself writes in
 * X-Forwarded-For.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(':')) return address;
  const bare = address.replace(/%.*$/, '').toLowerCase();
  const [head = '', tail] = bare.split('::', 2);
  const headParts = head === '' ? [] : head.split(':');
  // A dotted quad at the end stands for two groups.
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':').flatMap((part) => (part.includes('.') ? ['0', '0'] : [part]));
  const groups = tail === undefined ? headParts : [...headParts, ...Array<string>(Math.max(0, 8 - headParts.length - tailParts.length)).fill('0'), ...tailParts];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
