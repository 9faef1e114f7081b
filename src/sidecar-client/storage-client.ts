// What applications construct: `new StorageClient({ socketPath, clientId })`
// talks to the local daemon over its Unix socket, `new StorageClient({ url,
// token })` to a remote one through its HTTP gateway. The transport is picked
// from the options alone, so switching is a configuration change.

import type { PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import type {
  ByteRangeRequest,
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
import { ClientCache, type CacheConfig, type CacheStats } from './client-cache';
import { DirectUrls, type MinioClientConfig } from './direct-urls';
import { SidecarClient, type SidecarClientOptions } from './sidecar-client';
import { DEFAULT_URL_EXPIRY_SECONDS, MAX_URL_EXPIRY_SECONDS, MIN_URL_EXPIRY_SECONDS } from '../protocol/limits';
import { ValidationError } from '../protocol/errors';

/**
 * Either transport's options, plus the cache's (client-cache.ts; the seed's
 * CACHE_* defaults) and, optionally, the MinIO the daemon uses, for URLs
 * signed in the client (direct-urls.ts).
 */
export type StorageClientOptions = (SidecarClientOptions | RemoteClientOptions) & { cacheConfig?: CacheConfig; minioConfig?: MinioClientConfig };

export class StorageClient implements PhotoStorage {
  readonly #transport: PhotoStorage;
  readonly #direct: DirectUrls | null;
  #cache: ClientCache;

  constructor(opts: StorageClientOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('StorageClient expects an options object');
    const socket = 'socketPath' in opts && opts.socketPath !== undefined;
    const remote = 'url' in opts && opts.url !== undefined;
    if (socket === remote) {
      throw new TypeError('StorageClient needs either { socketPath, clientId } (local daemon) or { url, token } (HTTP gateway)');
    }
    const { cacheConfig, minioConfig, ...transport } = opts;
    this.#cache = new ClientCache(cacheConfig);
    this.#direct = minioConfig === undefined ? null : new DirectUrls(minioConfig);
    this.#transport = remote ? new RemoteClient(transport as RemoteClientOptions) : new SidecarClient(transport as SidecarClientOptions);
  }

  async storePhoto(data: PhotoBody, options: StorePhotoOptions): Promise<PhotoResult> {
    const stored = await this.#transport.storePhoto(data, options);
    this.#cache.stored(options.userId);
    return stored;
  }

  /** From the cache while its TTL lasts and its URL keeps the margin (see cacheConfig); otherwise from the daemon. */
  async getPhoto(id: string): Promise<PhotoWithUrl> {
    const cached = this.#cache.photo(id);
    if (cached !== undefined) return cached;
    const photo = await this.#transport.getPhoto(id);
    this.#cache.setPhoto(photo);
    return photo;
  }

  /** A URL with at least the cache's margin of its life left: a cached one, or a fresh one from the daemon. */
  async getPhotoUrl(id: string, expirySeconds?: number): Promise<string> {
    const expiry = expirySeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
    const cached = this.#cache.url(id, expiry);
    if (cached !== undefined) return cached;
    if (this.#direct !== null) {
      // Signed here from the photo's bucket and key (cached, or asked for once): no round trip for the URL.
      const photo = await this.getPhoto(id);
      if (this.#direct.covers(photo.s3_url)) {
        // The daemon's own rule (coordinator/url-expiry.ts), checked here since the daemon is not asked.
        if (!Number.isInteger(expiry) || expiry < MIN_URL_EXPIRY_SECONDS || expiry > MAX_URL_EXPIRY_SECONDS) {
          throw new ValidationError(`expirySeconds must be an integer between ${MIN_URL_EXPIRY_SECONDS} and ${MAX_URL_EXPIRY_SECONDS}`);
        }
        return this.#direct.sign(photo, expiry);
      }
    }
    const signedAt = this.#cache.now();
    const url = await this.#transport.getPhotoUrl(id, expirySeconds);
    this.#cache.setUrl(id, expiry, url, signedAt);
    return url;
  }

  /** Hits, misses, evictions and entries of this client's cache. */
  cacheStats(): CacheStats {
    return this.#cache.stats();
  }

  readPhoto(id: string, range?: ByteRangeRequest): Promise<PhotoDownload> {
    return this.#transport.readPhoto(id, range);
  }

  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch): Promise<Photo> {
    // Dropped before and after: a read racing the update must not put the old photo back.
    this.#cache.photoChanged(id);
    try {
      return await this.#transport.updatePhotoMetadata(id, patch);
    } finally {
      this.#cache.photoChanged(id);
    }
  }

  async deletePhoto(id: string): Promise<void> {
    this.#cache.photoChanged(id);
    try {
      await this.#transport.deletePhoto(id);
    } finally {
      this.#cache.photoChanged(id);
    }
  }

  async searchPhotos(query: SearchQuery): Promise<SearchResult> {
    const cached = this.#cache.list<SearchResult>('search', null, query);
    if (cached !== undefined) return cached;
    const result = await this.#transport.searchPhotos(query);
    this.#cache.setList('search', null, query, result);
    return result;
  }

  async getUserPhotos(userId: string, options?: PaginationOptions): Promise<PhotoPage> {
    const cached = this.#cache.list<PhotoPage>('user', userId, options ?? {});
    if (cached !== undefined) return cached;
    const page = await this.#transport.getUserPhotos(userId, options);
    this.#cache.setList('user', userId, options ?? {}, page);
    return page;
  }

  /** Closes the transport and drops the cache; calls still in flight no longer fill it, and later ones fail with CLOSED. */
  close(): Promise<void> {
    this.#cache.clear();
    this.#cache = new ClientCache({ enabled: false });
    return this.#transport.close();
  }
}
