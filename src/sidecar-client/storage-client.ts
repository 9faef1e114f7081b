// What applications construct: `new StorageClient({ socketPath, clientId })`
// talks to the local daemon over its Unix socket, `new StorageClient({ url,
// token })` to a remote one through its HTTP gateway. The transport is picked
// from the options alone, so switching is a configuration change. Both
// transports share what this class adds: the cache (client-cache.ts), URLs
// signed in the client (direct-urls.ts), retries of safe calls
// (retry-policy.ts) and an idempotency key on every store, which is what
// makes a store safe to retry.

import { randomUUID } from 'node:crypto';
import type { CallOptions, PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import type {
  ByteRangeRequest,
  DaemonStats,
  PaginationOptions,
  Photo,
  PhotoMetadataPatch,
  PhotoPage,
  PhotoResult,
  PhotoWithUrl,
  SearchQuery,
  SearchResult,
  StorePhotoOptions,
} from '../protocol/types';
import { RemoteClient, type RemoteClientOptions } from '../remote-client';
import { ClientCache, type CacheConfig, type CacheStats, type ReadTicket } from './client-cache';
import { DirectUrls, type MinioClientConfig } from './direct-urls';
import { RetryPolicy, type RetryConfig } from './retry-policy';
import { SidecarClient, type SidecarClientOptions } from './sidecar-client';
import { DEFAULT_URL_EXPIRY_SECONDS, MAX_URL_EXPIRY_SECONDS, MIN_URL_EXPIRY_SECONDS } from '../protocol/limits';
import { StorageError, ValidationError } from '../protocol/errors';

/**
 * Either transport's options, plus the cache's (client-cache.ts; the seed's
 * CACHE_* defaults), optionally the MinIO the daemon uses, for URLs signed in
 * the client (direct-urls.ts), and the retry policy (retry-policy.ts; `false`
 * turns retries off).
 */
export type StorageClientOptions = (SidecarClientOptions | RemoteClientOptions) & {
  cacheConfig?: CacheConfig;
  minioConfig?: MinioClientConfig;
  retry?: RetryConfig | false;
};

const isPlainOptions = (value: unknown): value is StorePhotoOptions => typeof value === 'object' && value !== null && !Array.isArray(value);

export class StorageClient implements PhotoStorage {
  readonly #transport: PhotoStorage;
  readonly #direct: DirectUrls | null;
  readonly #retry: RetryPolicy;
  #cache: ClientCache;
  #closed = false;
  /** Whether a failed call may be tried again: not once the application closed the client. */
  readonly #open = () => !this.#closed;

  constructor(opts: StorageClientOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('StorageClient expects an options object');
    const socket = 'socketPath' in opts && opts.socketPath !== undefined;
    const remote = 'url' in opts && opts.url !== undefined;
    if (socket === remote) {
      throw new TypeError('StorageClient needs either { socketPath, clientId } (local daemon) or { url, token } (HTTP gateway)');
    }
    const { cacheConfig, minioConfig, retry, ...transport } = opts;
    this.#cache = new ClientCache(cacheConfig);
    this.#direct = minioConfig === undefined ? null : new DirectUrls(minioConfig);
    this.#retry = new RetryPolicy(retry);
    this.#transport = remote ? new RemoteClient(transport as RemoteClientOptions) : new SidecarClient(transport as SidecarClientOptions);
  }

  /**
   * Stores with an idempotency key (options.idempotencyKey, or a fresh one):
   * a try whose answer was lost is answered, when tried again, with the first
   * try's result, so a body in memory is retried like any safe call. A stream
   * cannot be sent twice and is tried once; pass your own key to retry it
   * yourself.
   */
  async storePhoto(data: PhotoBody, options: StorePhotoOptions, call?: CallOptions): Promise<PhotoResult> {
    const sent = isPlainOptions(options) ? { ...options, idempotencyKey: options.idempotencyKey ?? randomUUID() } : options;
    const replayable = data instanceof Uint8Array;
    const stored = await this.#safely(() => this.#transport.storePhoto(data, sent, call), call, replayable);
    this.#cache.stored(isPlainOptions(options) ? options.userId : undefined);
    return stored;
  }

  /** From the cache while its TTL lasts and its URL keeps the margin (see cacheConfig); otherwise from the daemon. */
  getPhoto(id: string, call?: CallOptions): Promise<PhotoWithUrl> {
    const cached = this.#cache.photo(id, this.#direct === null ? undefined : (photo) => this.#resigned(photo));
    if (cached !== undefined) return Promise.resolve(cached);
    return this.#cachedRead(this.#cache.reading(id), () => this.#transport.getPhoto(id, call), call, (photo, ticket) => this.#cache.setPhoto(photo, ticket));
  }

  /** A URL with at least the cache's margin of its life left: a cached one, one signed here (minioConfig), or a fresh one from the daemon. */
  async getPhotoUrl(id: string, expirySeconds?: number, call?: CallOptions): Promise<string> {
    const expiry = expirySeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
    const cached = this.#cache.url(id, expiry);
    if (cached !== undefined) return cached;
    if (this.#direct !== null) {
      // Signed here from the photo's bucket and key (cached, or asked for once): no round trip for the URL.
      const photo = await this.getPhoto(id, call);
      if (this.#direct.covers(photo.s3_url)) {
        // The daemon's own rule (coordinator/url-expiry.ts), checked here since the daemon is not asked.
        if (!Number.isInteger(expiry) || expiry < MIN_URL_EXPIRY_SECONDS || expiry > MAX_URL_EXPIRY_SECONDS) {
          throw new ValidationError(`expirySeconds must be an integer between ${MIN_URL_EXPIRY_SECONDS} and ${MAX_URL_EXPIRY_SECONDS}`);
        }
        return this.#direct.sign(photo, expiry);
      }
    }
    const signedAt = this.#cache.now();
    return this.#cachedRead(this.#cache.reading(id), () => this.#transport.getPhotoUrl(id, expirySeconds, call), call, (url, ticket) =>
      this.#cache.setUrl(id, expiry, url, signedAt, ticket),
    );
  }

  /** Hits, misses, evictions and entries of this client's cache. */
  cacheStats(): CacheStats {
    return this.#cache.stats();
  }

  /** Retried until the head arrives; from then on the bytes are the reader's. */
  readPhoto(id: string, range?: ByteRangeRequest, call?: CallOptions): Promise<PhotoDownload> {
    return this.#safely(() => this.#transport.readPhoto(id, range, call), call);
  }

  /**
   * A retry of a status change answered CONFLICT follows a try whose outcome
   * was lost: when the photo now has the status the patch asks for, that try
   * made the change (as a retried delete that finds the photo gone), and the
   * rest of the patch is sent without the status so that it stands too.
   */
  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch, call?: CallOptions): Promise<Photo> {
    // Dropped before and after: a read racing the update must not put the old photo back.
    this.#cache.photoChanged(id);
    try {
      return await this.#retry.run(
        (n) =>
          this.#transport.updatePhotoMetadata(id, patch, call).catch((err: unknown) => {
            if (n > 1 && err instanceof StorageError && err.code === 'CONFLICT') return this.#statusAlreadySet(id, patch, err, call);
            throw err;
          }),
        call?.signal,
        this.#open,
      );
    } finally {
      this.#cache.photoChanged(id);
    }
  }

  /** The photo after an earlier try of `patch` set its status; `conflict` again when the photo is not in that status. */
  async #statusAlreadySet(id: string, patch: PhotoMetadataPatch, conflict: StorageError, call: CallOptions | undefined): Promise<Photo> {
    const status = typeof patch === 'object' && patch !== null ? patch.processing_status : undefined;
    if (status === undefined) throw conflict;
    const photo = await this.#transport.getPhoto(id, call);
    if (photo.processing_status !== status) throw conflict;
    const { processing_status: _status, ...rest } = patch;
    if (Object.values(rest).some((value) => value !== undefined)) return this.#transport.updatePhotoMetadata(id, rest, call);
    const { s3_url: _url, url_expires_at: _expires, ...plain } = photo;
    return plain;
  }

  /** A retry answered NOT_FOUND follows a try whose outcome was lost: that try deleted it, and the delete stands. */
  async deletePhoto(id: string, call?: CallOptions): Promise<void> {
    this.#cache.photoChanged(id);
    try {
      await this.#retry.run(
        (n) =>
          this.#transport.deletePhoto(id, call).catch((err: unknown) => {
            if (n > 1 && err instanceof StorageError && err.code === 'NOT_FOUND') return;
            throw err;
          }),
        call?.signal,
        this.#open,
      );
    } finally {
      this.#cache.photoChanged(id);
    }
  }

  async searchPhotos(query: SearchQuery, call?: CallOptions): Promise<SearchResult> {
    const cached = this.#cache.list<SearchResult>('search', null, query);
    if (cached !== undefined) return cached;
    return this.#cachedRead(this.#cache.readingList(), () => this.#transport.searchPhotos(query, call), call, (result, ticket) =>
      this.#cache.setList('search', null, query, result, ticket),
    );
  }

  async getUserPhotos(userId: string, options?: PaginationOptions, call?: CallOptions): Promise<PhotoPage> {
    const cached = this.#cache.list<PhotoPage>('user', userId, options ?? {});
    if (cached !== undefined) return cached;
    return this.#cachedRead(this.#cache.readingList(), () => this.#transport.getUserPhotos(userId, options, call), call, (page, ticket) =>
      this.#cache.setList('user', userId, options ?? {}, page, ticket),
    );
  }

  /**
   * The daemon's figures (storagectl stats). Served over the socket only: over
   * the gateway the same figures are /metrics, behind the admin token.
   */
  daemonStats(call?: CallOptions): Promise<DaemonStats> {
    if (!(this.#transport instanceof SidecarClient)) {
      return Promise.reject(new ValidationError("daemonStats is served over the socket; over the gateway read /metrics with the admin token"));
    }
    const socket = this.#transport;
    return this.#safely(() => socket.daemonStats(call), call);
  }

  /** Closes the transport and drops the cache; calls still in flight no longer fill it or retry, and later ones fail with CLOSED. */
  close(): Promise<void> {
    this.#closed = true;
    this.#cache.clear();
    this.#cache = new ClientCache({ enabled: false });
    return this.#transport.close();
  }

  /**
   * The first try goes out at once (no async frame on the hot path); only a
   * retryable failure enters the retry policy. `replayable` false: tried once.
   */
  #safely<T>(attempt: () => Promise<T>, call: CallOptions | undefined, replayable = true): Promise<T> {
    if (this.#retry.retries === 0 || !replayable) return attempt();
    const started = performance.now();
    return attempt().catch((err: unknown) => this.#retry.after(err, started, attempt, call?.signal, this.#open));
  }

  /**
   * Sends a read the cache may keep, under its ticket: `keep` caches the
   * answer (the cache refuses it when a write through this client came
   * between the send and the answer); a failed read gives the ticket back.
   */
  async #cachedRead<T>(ticket: ReadTicket, attempt: () => Promise<T>, call: CallOptions | undefined, keep: (answer: T, ticket: ReadTicket) => void): Promise<T> {
    let answer: T;
    try {
      answer = await this.#safely(attempt, call);
    } catch (err) {
      this.#cache.done(ticket);
      throw err;
    }
    keep(answer, ticket);
    return answer;
  }

  /** A cached photo whose URL is near its end, with a URL signed here when this client signs for its MinIO. */
  #resigned(photo: PhotoWithUrl): PhotoWithUrl | undefined {
    if (this.#direct === null || !this.#direct.covers(photo.s3_url)) return undefined;
    const expiresAt = new Date(Date.now() + DEFAULT_URL_EXPIRY_SECONDS * 1000);
    expiresAt.setMilliseconds(0);
    return { ...photo, s3_url: this.#direct.sign(photo, DEFAULT_URL_EXPIRY_SECONDS), url_expires_at: expiresAt.toISOString() };
  }
}
