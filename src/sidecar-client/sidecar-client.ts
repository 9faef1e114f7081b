// The sidecar transport: the seed's client methods, carried over one
// Unix-socket connection to the local storaged, opened on first use.

import { ClosedError, ValidationError } from '../protocol/errors';
import { clientIdProblem } from '../protocol/client-id';
import type { Op } from '../protocol/messages';
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
import type { PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import type { BodySource } from './body-chunks';
import { ClientConnection } from './client-connection';

export interface SidecarClientOptions {
  /** The daemon's Unix socket (STORAGED_SOCKET on the daemon side). */
  socketPath: string;
  /** The tenant every call of this client is scoped to. */
  clientId: string;
  /**
   * The client's token, when the daemon authenticates socket callers (it does
   * whenever it has tokens configured): the same token the gateway takes.
   * Defaults to the STORAGED_TOKEN environment variable.
   */
  token?: string;
  /** Budget of one call, body upload included. Default 30 s. */
  callTimeoutMs?: number;
  /** Budget for connecting and the handshake. Default 5 s. */
  connectTimeoutMs?: number;
}


function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

/** Drops undefined fields so the wire carries only what the caller gave. */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

export class SidecarClient implements PhotoStorage {
  readonly socketPath: string;
  readonly clientId: string;
  readonly #callTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #hello: { clientId: string; token?: string };
  #connection: ClientConnection | null = null;
  #connecting: Promise<ClientConnection> | null = null;
  #closed = false;

  constructor(opts: SidecarClientOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('SidecarClient expects an options object');
    if (typeof opts.socketPath !== 'string' || opts.socketPath === '') {
      throw new TypeError('socketPath must be a non-empty string');
    }
    const problem = clientIdProblem(opts.clientId);
    if (problem !== null) throw new TypeError(problem);
    this.socketPath = opts.socketPath;
    this.clientId = opts.clientId;
    this.#callTimeoutMs = positiveMs('callTimeoutMs', opts.callTimeoutMs, 30_000);
    this.#connectTimeoutMs = positiveMs('connectTimeoutMs', opts.connectTimeoutMs, 5_000);
    const token = opts.token ?? (process.env.STORAGED_TOKEN || undefined);
    if (token !== undefined && (typeof token !== 'string' || token === '' || token.length > 512)) {
      throw new TypeError('token must be a non-empty string of at most 512 characters');
    }
    this.#hello = token === undefined ? { clientId: opts.clientId } : { clientId: opts.clientId, token };
  }

  async storePhoto(data: PhotoBody, options: StorePhotoOptions): Promise<PhotoResult> {
    if (typeof options !== 'object' || options === null) throw new ValidationError('storePhoto needs an options object');
    if (options.clientId !== this.clientId) {
      throw new ValidationError(
        `options.clientId ${JSON.stringify(options.clientId)} differs from this client's clientId ${JSON.stringify(this.clientId)}`,
      );
    }
    let body: BodySource;
    let sent: StorePhotoOptions = options;
    if (data instanceof Uint8Array) {
      body = data;
      // Known up front, so the daemon can refuse an oversized body before a byte of it is sent.
      sent = { ...options, size: options.size ?? data.length };
    } else if (data !== null && typeof data === 'object' && Symbol.asyncIterator in data) {
      body = data as AsyncIterable<unknown>;
    } else {
      throw new ValidationError('storePhoto data must be a Buffer, a Uint8Array or a readable stream');
    }
    return (await this.call('storePhoto', { options: defined({ ...sent }) }, body)) as PhotoResult;
  }

  getPhoto(id: string): Promise<PhotoWithUrl> {
    // Not async: the hottest call should not pay for a wrapper promise.
    return this.call('getPhoto', { id }) as Promise<PhotoWithUrl>;
  }

  async getPhotoUrl(id: string, expirySeconds?: number): Promise<string> {
    return (await this.call('getPhotoUrl', defined({ id, expirySeconds }))) as string;
  }

  async readPhoto(id: string, range?: ByteRangeRequest): Promise<PhotoDownload> {
    const connection = await this.#connect();
    return connection.download('readPhoto', defined({ id, range }), this.#callTimeoutMs);
  }

  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch): Promise<Photo> {
    return (await this.call('updatePhotoMetadata', { id, patch })) as Photo;
  }

  async deletePhoto(id: string): Promise<void> {
    await this.call('deletePhoto', { id });
  }

  async searchPhotos(query: SearchQuery): Promise<SearchResult> {
    return (await this.call('searchPhotos', { query })) as SearchResult;
  }

  async getUserPhotos(userId: string, options?: PaginationOptions): Promise<PhotoPage> {
    return (await this.call('getUserPhotos', defined({ userId, options }))) as PhotoPage;
  }

  /** Lets calls in flight finish, then closes the connection. Later calls fail with ClosedError. */
  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#connection = null;
    await connection?.close();
  }

  /**
   * The one path every public method takes: a later cache or retry policy
   * wraps this, not each method.
   */
  protected call(op: Op, args: Record<string, unknown>, body: BodySource | null = null): Promise<unknown> {
    const connection = this.#connection;
    // Connected, the call goes straight out; only connecting needs an async step.
    if (!this.#closed && connection?.usable) return connection.call(op, args, this.#callTimeoutMs, body);
    return this.#connect().then((opened) => opened.call(op, args, this.#callTimeoutMs, body));
  }

  async #connect(): Promise<ClientConnection> {
    if (this.#closed) throw new ClosedError('the storage client is closed');
    if (this.#connection?.usable) return this.#connection;
    this.#connection = null;
    this.#connecting ??= ClientConnection.open(this.socketPath, this.#hello, this.#connectTimeoutMs).finally(() => {
      this.#connecting = null;
    });
    const connection = await this.#connecting;
    if (this.#closed) {
      await connection.close();
      throw new ClosedError('the storage client is closed');
    }
    this.#connection = connection;
    return connection;
  }
}
