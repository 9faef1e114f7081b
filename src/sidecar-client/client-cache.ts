// The client's cache, one piece of code for both transports (StorageClient
// wraps either): photo metadata by id, presigned URLs until a margin before
// they expire, and search and user listings for a few seconds. Bounded by
// entries and by bytes (lru-cache: a well-kept LRU with TTLs and a size
// bound, whose clock timers are unref'd, so no timer keeps a process alive).
// The bytes are the heap an entry may take, estimated as the daemon's photo
// cache does (db/photo-bytes.ts): a thousand listings of 512 KiB answers
// each, bounded by count alone, could hold gigabytes of the application's
// heap once parsed. Writes made through the same
// client drop what they change; what other processes change is seen once the
// entry's TTL runs out (README says so): a client that must see every change
// at once turns the cache off.

import { LRUCache } from 'lru-cache';
import type { PhotoWithUrl } from '../protocol/types';

export interface CacheConfig {
  /** CACHE_ENABLED; default true. */
  enabled?: boolean;
  /** Seconds a photo's metadata is served from the cache (CACHE_TTL, default 300). */
  ttl?: number;
  /** Photos held at most (CACHE_MAX_SIZE, default 1000); URLs and listings are bounded the same. */
  maxSize?: number;
  /** Bytes of heap the cache's entries may take (CACHE_MAX_BYTES, default 32 MiB): half for photos, half for listings and URLs. */
  maxBytes?: number;
  /** A URL is never handed out with less than this many seconds of its life left (default 60). */
  urlMarginSeconds?: number;
  /** Seconds search and user-listing results are served from the cache (default 5). */
  listTtl?: number;
  /** The clock, in milliseconds (tests); performance.now() by default. */
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  size: number;
  /** The heap the cached entries are charged (see heapBytes). */
  bytes: number;
}

interface ResolvedConfig {
  enabled: boolean;
  ttlMs: number;
  maxSize: number;
  maxBytes: number;
  marginMs: number;
  listTtlMs: number;
  now: () => number;
}

function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`${name} must be a non-negative number, got '${value}'`);
  return n;
}

function positive(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new RangeError(`cacheConfig.${name} must be a number of at least ${min}, got ${String(value)}`);
  return value;
}

export function resolveCacheConfig(config: CacheConfig | undefined): ResolvedConfig {
  const envEnabled = process.env.CACHE_ENABLED;
  const enabled = config?.enabled ?? (envEnabled === undefined || envEnabled === '' ? true : envEnabled !== 'false' && envEnabled !== '0');
  return {
    enabled,
    ttlMs: positive('ttl', config?.ttl, envNumber('CACHE_TTL', 300)) * 1000,
    maxSize: Math.floor(positive('maxSize', config?.maxSize, envNumber('CACHE_MAX_SIZE', 1000), 1)),
    maxBytes: Math.floor(positive('maxBytes', config?.maxBytes, envNumber('CACHE_MAX_BYTES', DEFAULT_MAX_BYTES), MIN_MAX_BYTES)),
    marginMs: positive('urlMarginSeconds', config?.urlMarginSeconds, 60) * 1000,
    listTtlMs: positive('listTtl', config?.listTtl, 5) * 1000,
    now: config?.now ?? (() => performance.now()),
  };
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** Below this not even one photo with a little processing metadata fits. */
const MIN_MAX_BYTES = 64 * 1024;

// As the daemon's cache measures a photo (db/photo-bytes.ts): ids, timestamps,
// numbers and keys well under 1 KiB; strings about twice their text; JSON of
// any shape at most 28x its text once parsed (`[{},{},…]` is ~20x).
const FIXED_FIELDS_BYTES = 1024;
const STRING_HEAP_GROWTH = 2;
const PARSED_GROWTH = 28;

function textBytes(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

/** An upper bound on the heap one photo takes. */
function photoHeapBytes(photo: Partial<PhotoWithUrl>): number {
  let strings = textBytes(photo.original_filename) + textBytes(photo.mime_type) + textBytes(photo.processing_error) + textBytes(photo.s3_url);
  for (const [key, value] of Object.entries(photo.metadata ?? {})) strings += key.length + textBytes(value);
  const processing = photo.processing_metadata === null || photo.processing_metadata === undefined ? 0 : (JSON.stringify(photo.processing_metadata)?.length ?? 0);
  return FIXED_FIELDS_BYTES + strings * STRING_HEAP_GROWTH + processing * PARSED_GROWTH;
}

/** A listing (search or user page) is its photos and a little more. */
function listingHeapBytes(result: object): number {
  const photos = (result as { photos?: unknown }).photos;
  let bytes = FIXED_FIELDS_BYTES;
  if (Array.isArray(photos)) for (const photo of photos) bytes += photoHeapBytes(photo as Partial<PhotoWithUrl>);
  return bytes;
}

/** A photo with the time (this cache's clock) its s3_url stops working. */
interface CachedPhoto {
  photo: PhotoWithUrl;
  urlExpiresAt: number;
}

/** A URL with the clock time (this cache's clock) it stops working. */
interface CachedUrl {
  url: string;
  expiresAt: number;
}

/**
 * A read on its way to the daemon. A write through this client while it is
 * out marks it stale: its answer may be what the daemon had before the write,
 * so it is handed to the caller but not cached.
 */
export interface ReadTicket {
  readonly key: string;
  stale: boolean;
}

/** The ticket of a disabled cache: nothing is cached, nothing to track. */
const UNTRACKED: ReadTicket = { key: '', stale: true };

/** The tickets of listings share one key: any write drops every listing. */
const LISTS = '\u0000lists';

/** JSON with keys sorted, so that equal queries written differently share an entry. */
function normalised(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export class ClientCache {
  readonly #config: ResolvedConfig;
  readonly #photos: LRUCache<string, CachedPhoto> | null;
  readonly #urls: LRUCache<string, CachedUrl> | null;
  readonly #lists: LRUCache<string, object> | null;
  /** Reads in flight by photo id (or LISTS); only ids with a read out are held, so this stays as small as the calls in flight. */
  readonly #reading = new Map<string, Set<ReadTicket>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(config: CacheConfig | undefined) {
    this.#config = resolveCacheConfig(config);
    const c = this.#config;
    if (!c.enabled) {
      this.#photos = this.#urls = this.#lists = null;
      return;
    }
    // ttlResolution 0: ask the clock on every check, so an injected clock is seen at once (and no clock-refresh timer runs).
    const perf = { now: c.now };
    const timing = { perf, ttlResolution: 0 };
    const dispose = (_v: unknown, _k: string, reason: string) => {
      if (reason === 'evict') this.#evictions++;
    };
    // An entry dearer than its cache's whole share is not cached (lru-cache's maxEntrySize defaults to maxSize).
    const half = Math.floor(c.maxBytes / 2);
    const urlShare = Math.floor(c.maxBytes / 16);
    this.#photos = new LRUCache<string, CachedPhoto>({
      max: c.maxSize,
      maxSize: half,
      sizeCalculation: (entry) => photoHeapBytes(entry.photo),
      ttl: Math.max(1, c.ttlMs),
      ...timing,
      dispose,
    });
    this.#urls = new LRUCache<string, CachedUrl>({ max: c.maxSize, maxSize: urlShare, sizeCalculation: (entry, key) => 64 + entry.url.length + key.length, ...timing, dispose });
    this.#lists = new LRUCache<string, object>({
      max: c.maxSize,
      maxSize: half - urlShare,
      sizeCalculation: (result, key) => key.length + listingHeapBytes(result),
      ttl: Math.max(1, c.listTtlMs),
      ...timing,
      dispose,
    });
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  #count<T>(found: T | undefined): T | undefined {
    if (found === undefined) this.#misses++;
    else this.#hits++;
    return found;
  }

  /**
   * A cached photo whose URL still has the margin left, or undefined. One
   * whose URL is near its end is given a new URL by `renew` when it can (a
   * client that signs URLs itself), and dropped otherwise.
   */
  photo(id: string, renew?: (photo: PhotoWithUrl) => PhotoWithUrl | undefined): PhotoWithUrl | undefined {
    if (this.#photos === null) return undefined;
    let entry = this.#photos.get(id);
    if (entry !== undefined && entry.urlExpiresAt - this.#config.now() < this.#config.marginMs) {
      const renewed = renew?.(entry.photo);
      const next = renewed === undefined ? undefined : this.#entry(renewed);
      if (next === undefined || next.urlExpiresAt - this.#config.now() < this.#config.marginMs) {
        this.#photos.delete(id);
        return this.#count(undefined);
      }
      // Its metadata keeps the TTL it had: only the URL is new.
      this.#photos.set(id, next, { ttl: Math.max(1, this.#photos.getRemainingTTL(id)) });
      entry = next;
    }
    return this.#count(entry?.photo);
  }

  /** The photo with its URL's expiry moved onto this cache's clock (url_expires_at is wall-clock time). */
  #entry(photo: PhotoWithUrl): CachedPhoto {
    return { photo, urlExpiresAt: this.#config.now() + (Date.parse(photo.url_expires_at) - Date.now()) };
  }

  /** A ticket for a read of this photo (its metadata or a URL) about to be sent; give it back to setPhoto, setUrl or done. */
  reading(id: string): ReadTicket {
    if (this.#photos === null) return UNTRACKED;
    const ticket = { key: id, stale: false };
    const out = this.#reading.get(id);
    if (out === undefined) this.#reading.set(id, new Set([ticket]));
    else out.add(ticket);
    return ticket;
  }

  /** The read is over: whether its answer may be cached (no write through this client since it was sent). */
  done(ticket: ReadTicket): boolean {
    if (ticket === UNTRACKED) return false;
    const out = this.#reading.get(ticket.key);
    if (out !== undefined && out.delete(ticket) && out.size === 0) this.#reading.delete(ticket.key);
    return !ticket.stale;
  }

  #changed(key: string): void {
    const out = this.#reading.get(key);
    if (out === undefined) return;
    for (const ticket of out) ticket.stale = true;
    this.#reading.delete(key);
  }

  setPhoto(photo: PhotoWithUrl, ticket: ReadTicket): void {
    if (this.done(ticket)) this.#photos?.set(photo.id, this.#entry(photo));
  }

  url(id: string, expirySeconds: number): string | undefined {
    if (this.#urls === null) return undefined;
    const cached = this.#urls.get(`${id}\u0000${expirySeconds}`);
    if (cached !== undefined && cached.expiresAt - this.#config.now() < this.#config.marginMs) {
      this.#urls.delete(`${id}\u0000${expirySeconds}`);
      return this.#count(undefined);
    }
    return this.#count(cached?.url);
  }

  /** Caches a URL the daemon signed just now for `expirySeconds`. */
  setUrl(id: string, expirySeconds: number, url: string, signedAt: number, ticket: ReadTicket): void {
    if (this.done(ticket)) this.#urls?.set(`${id}\u0000${expirySeconds}`, { url, expiresAt: signedAt + expirySeconds * 1000 });
  }

  /** This cache's clock, for setUrl's `signedAt` (taken before the request, so the margin errs early). */
  now(): number {
    return this.#config.now();
  }

  list<T extends object>(kind: 'search' | 'user', userId: string | null, query: unknown): T | undefined {
    if (this.#lists === null) return undefined;
    return this.#count(this.#lists.get(`${kind}\u0000${userId ?? ''}\u0000${normalised(query)}`) as T | undefined);
  }

  /** A ticket for a search or listing about to be sent; give it back to setList or done. */
  readingList(): ReadTicket {
    return this.#lists === null ? UNTRACKED : this.reading(LISTS);
  }

  setList(kind: 'search' | 'user', userId: string | null, query: unknown, result: object, ticket: ReadTicket): void {
    if (this.done(ticket)) this.#lists?.set(`${kind}\u0000${userId ?? ''}\u0000${normalised(query)}`, result);
  }

  /** A write changed this photo: its metadata, URLs and every listing that may show it go. */
  photoChanged(id: string): void {
    this.#changed(id);
    this.#changed(LISTS);
    this.#photos?.delete(id);
    if (this.#urls !== null) for (const key of [...this.#urls.keys()]) if (key.startsWith(`${id}\u0000`)) this.#urls.delete(key);
    this.#lists?.clear();
  }

  /** A photo was stored: that user's listings, and every search, may now show it. */
  stored(userId: string | undefined): void {
    if (this.#lists === null) return;
    this.#changed(LISTS);
    for (const key of [...this.#lists.keys()]) {
      if (key.startsWith('search\u0000') || userId === undefined || key.startsWith(`user\u0000${userId}\u0000`)) this.#lists.delete(key);
    }
  }

  stats(): CacheStats {
    const size = (this.#photos?.size ?? 0) + (this.#urls?.size ?? 0) + (this.#lists?.size ?? 0);
    const bytes = (this.#photos?.calculatedSize ?? 0) + (this.#urls?.calculatedSize ?? 0) + (this.#lists?.calculatedSize ?? 0);
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, size, bytes };
  }

  clear(): void {
    this.#photos?.clear();
    this.#urls?.clear();
    this.#lists?.clear();
  }
}
