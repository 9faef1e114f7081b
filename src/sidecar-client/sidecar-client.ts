// The sidecar transport: the seed's client methods, carried over one
// Unix-socket connection to the local storaged, opened on first use.

import { ClosedError, ValidationError } from '../protocol/errors';
import { clientIdProblem } from '../protocol/client-id';
import type { Op } from '../protocol/messages';
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
import type { CallOptions, PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import { abortReason, callTimeoutMs } from '../protocol/call-options';
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
  /**
   * How long a call may go without progress: without an answer, or, while
   * its body is sent, without a piece of it going out. Default 30 s; a
   * call's own `timeoutMs` replaces it.
   */
  callTimeoutMs?: number;
  /** Budget for connecting and the handshake. Default 5 s. */
  connectTimeoutMs?: number;
}


/** As the remote client and call.timeoutMs: past 2^31-1 ms Node fires a timer after 1 ms, so a day is the bound. */
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`${name} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, got ${String(value)}`);
  }
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

  async storePhoto(data: PhotoBody, options: StorePhotoOptions, call?: CallOptions): Promise<PhotoResult> {
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
    return (await this.call('storePhoto', { options: defined({ ...sent }) }, body, call)) as PhotoResult;
  }

  getPhoto(id: string, call?: CallOptions): Promise<PhotoWithUrl> {
    // Not async: the hottest call should not pay for a wrapper promise.
    return this.call('getPhoto', { id }, null, call) as Promise<PhotoWithUrl>;
  }

  async getPhotoUrl(id: string, expirySeconds?: number, call?: CallOptions): Promise<string> {
    return (await this.call('getPhotoUrl', defined({ id, expirySeconds }), null, call)) as string;
  }

  async readPhoto(id: string, range?: ByteRangeRequest, call?: CallOptions): Promise<PhotoDownload> {
    const timeoutMs = callTimeoutMs(call, this.#callTimeoutMs);
    const connection = await this.#connect();
    return connection.download('readPhoto', defined({ id, range }), timeoutMs, call?.signal);
  }

  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch, call?: CallOptions): Promise<Photo> {
    return (await this.call('updatePhotoMetadata', { id, patch }, null, call)) as Photo;
  }

  async deletePhoto(id: string, call?: CallOptions): Promise<void> {
    await this.call('deletePhoto', { id }, null, call);
  }

  async searchPhotos(query: SearchQuery, call?: CallOptions): Promise<SearchResult> {
    return (await this.call('searchPhotos', { query }, null, call)) as SearchResult;
  }

  async getUserPhotos(userId: string, options?: PaginationOptions, call?: CallOptions): Promise<PhotoPage> {
    return (await this.call('getUserPhotos', defined({ userId, options }), null, call)) as PhotoPage;
  }

  /** The daemon's figures (what storagectl stats shows): counts per bucket, writer, worker pool, event loop, connections, uptime. */
  async daemonStats(call?: CallOptions): Promise<DaemonStats> {
    return (await this.call('daemonStats', {}, null, call)) as DaemonStats;
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
  protected call(op: Op, args: Record<string, unknown>, body: BodySource | null = null, call?: CallOptions): Promise<unknown> {
    let timeoutMs = this.#callTimeoutMs;
    let signal: AbortSignal | undefined;
    if (call !== undefined) {
      try {
        timeoutMs = callTimeoutMs(call, timeoutMs);
      } catch (err) {
        return Promise.reject(err);
      }
      signal = call.signal;
    }
    const connection = this.#connection;
    // Connected, the call goes straight out; only connecting needs an async step.
    if (!this.#closed && connection?.usable) return connection.call(op, args, timeoutMs, body, signal);
    return this.#connect().then((opened) => {
      if (signal?.aborted) throw abortReason(signal);
      return opened.call(op, args, timeoutMs, body, signal);
    });
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
