// The remote transport: the same PhotoStorage methods as the sidecar client,
// carried over HTTP/1.1 to the daemon's gateway through one undici Pool of
// keep-alive connections. Bodies stream both ways; errors come back as the
// same classes with the same codes.

import { Pool, type Dispatcher } from 'undici';
import { ClosedError, ProtocolError, TimeoutError, ValidationError } from '../protocol/errors';
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
import { discard, readBounded } from './bounded-body';
import { contentInfo, rangeHeader } from './content-range';
import { downloadBody } from './download-body';
import { idPath, pageQuery, urlExpiryQuery, userPath } from './request-paths';
import { remoteSettings, type RemoteClientOptions, type RemoteSettings } from './remote-client-options';
import { errorFromResponse, transportError } from './response-error';
import { storeRequest } from './store-request';

/** Largest JSON answer read (a search page of 1000 photos with full metadata stays well under it). */
const MAX_JSON_ANSWER_BYTES = 64 * 1024 * 1024;

interface Call {
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions['body'];
}

export class RemoteClient implements PhotoStorage {
  /** The gateway's base URL (origin and path prefix). */
  readonly url: string;
  /** The tenant given in the options, or null when only the token names it. */
  readonly clientId: string | null;
  readonly #settings: RemoteSettings;
  readonly #pool: Pool;
  #closing: Promise<void> | null = null;

  constructor(opts: RemoteClientOptions) {
    this.#settings = remoteSettings(opts);
    this.url = this.#settings.origin + this.#settings.basePath;
    this.clientId = this.#settings.clientId;
    const { callTimeoutMs, connectTimeoutMs, connections } = this.#settings;
    this.#pool = new Pool(this.#settings.origin, {
      connections,
      connect: { timeout: connectTimeoutMs },
      // Idle limits (no byte for this long); the per-call deadline below bounds the whole call.
      headersTimeout: callTimeoutMs,
      bodyTimeout: callTimeoutMs,
    });
  }

  async storePhoto(data: PhotoBody, options: StorePhotoOptions): Promise<PhotoResult> {
    // callTimeoutMs bounds silence, not the whole upload: each piece of the body sent restarts it.
    const deadline = this.#deadline('storePhoto');
    const request = storeRequest(data, options, this.clientId, deadline.progress);
    try {
      return (await this.#json(
        'storePhoto',
        201,
        {
          method: 'POST',
          path: `/photos${request.query}`,
          headers: request.headers,
          // undici documents AsyncIterable bodies (written with back-pressure) though its type leaves them out.
          body: request.body as Dispatcher.DispatchOptions['body'],
        },
        deadline,
      )) as PhotoResult;
    } catch (err) {
      // The caller's own stream failed: that error is theirs, not a transport failure.
      const source = request.sourceError();
      throw source !== undefined ? source : err;
    }
  }

  async getPhoto(id: string): Promise<PhotoWithUrl> {
    return (await this.#json('getPhoto', 200, { method: 'GET', path: idPath(id) })) as PhotoWithUrl;
  }

  async getPhotoUrl(id: string, expirySeconds?: number): Promise<string> {
    const path = `${idPath(id)}/url${urlExpiryQuery(expirySeconds)}`;
    const answer = (await this.#json('getPhotoUrl', 200, { method: 'GET', path })) as { url?: unknown };
    if (typeof answer?.url !== 'string') throw new ProtocolError('getPhotoUrl: the gateway answered without a url');
    return answer.url;
  }

  async readPhoto(id: string, range?: ByteRangeRequest): Promise<PhotoDownload> {
    const path = `${idPath(id)}/content`;
    const rangeValue = rangeHeader(range);
    const headers: Record<string, string> = rangeValue === null ? {} : { range: rangeValue };
    const deadline = this.#deadline('readPhoto');
    try {
      const response = await this.#send({ method: 'GET', path, headers }, deadline.signal);
      if (response.statusCode !== 200 && response.statusCode !== 206) throw await errorFromResponse('readPhoto', response);
      let info;
      try {
        info = contentInfo(id, response.statusCode, response.headers);
      } catch (err) {
        discard(response.body);
        throw err;
      }
      // From here the reader sets the pace; undici's body timeout still catches a gateway that stalls.
      deadline.clear();
      return { info, body: downloadBody(response.body, (err) => transportError('readPhoto', this.url, err)) };
    } catch (err) {
      throw transportError('readPhoto', this.url, err);
    } finally {
      deadline.clear();
    }
  }

  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch): Promise<Photo> {
    const body = jsonBody('updatePhotoMetadata', patch);
    return (await this.#json('updatePhotoMetadata', 200, { method: 'PUT', path: `${idPath(id)}/metadata`, ...body })) as Photo;
  }

  async deletePhoto(id: string): Promise<void> {
    await this.#json('deletePhoto', 204, { method: 'DELETE', path: idPath(id) });
  }

  async searchPhotos(query: SearchQuery): Promise<SearchResult> {
    const body = jsonBody('searchPhotos', query);
    return (await this.#json('searchPhotos', 200, { method: 'POST', path: '/photos/search', ...body })) as SearchResult;
  }

  async getUserPhotos(userId: string, options?: PaginationOptions): Promise<PhotoPage> {
    const path = `${userPath(userId)}${pageQuery(options)}`;
    return (await this.#json('getUserPhotos', 200, { method: 'GET', path })) as PhotoPage;
  }

  /**
   * Lets calls in flight finish (downloads included, for up to callTimeoutMs),
   * then closes the connections. Later calls fail with ClosedError.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const force = setTimeout(() => {
        this.#pool.destroy(new ClosedError('the storage client was closed while this call was in flight')).catch(() => undefined);
      }, this.#settings.callTimeoutMs);
      force.unref();
      await this.#pool.close().catch(() => undefined);
      clearTimeout(force);
    })();
    return this.#closing;
  }

  /** One call whose answer is JSON (or empty, for 204): the whole call runs under one deadline. */
  async #json(what: string, okStatus: number, call: Call, deadline = this.#deadline(what)): Promise<unknown> {
    try {
      const response = await this.#send(call, deadline.signal);
      if (response.statusCode !== okStatus) throw await errorFromResponse(what, response);
      const bytes = await readBounded(response.body, MAX_JSON_ANSWER_BYTES);
      if (okStatus === 204) return undefined;
      try {
        return JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new ProtocolError(`${what}: the gateway's answer is not JSON (${bytes.length} bytes)`);
      }
    } catch (err) {
      throw transportError(what, this.url, err);
    } finally {
      deadline.clear();
    }
  }

  #send(call: Call, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    if (this.#closing !== null) throw new ClosedError('the storage client is closed');
    return this.#pool.request({
      method: call.method,
      path: this.#settings.basePath + call.path,
      headers: { ...call.headers, authorization: this.#settings.authorization },
      body: call.body ?? null,
      signal,
    });
  }

  #deadline(what: string): { signal: AbortSignal; clear(): void; progress(): void } {
    const controller = new AbortController();
    const ms = this.#settings.callTimeoutMs;
    // undici rejects (and destroys a body being read) with this reason when the deadline passes.
    const timer = setTimeout(() => controller.abort(new TimeoutError(`${what} got no answer within ${ms} ms`)), ms);
    return { signal: controller.signal, clear: () => clearTimeout(timer), progress: () => void timer.refresh() };
  }
}

function jsonBody(what: string, value: unknown): { headers: Record<string, string>; body: string } {
  let text: string | undefined;
  try {
    // undefined travels as null so the daemon judges a missing argument as it does for the sidecar.
    text = value === undefined ? 'null' : JSON.stringify(value);
  } catch (err) {
    throw new ValidationError(`the arguments of ${what} cannot be encoded as JSON: ${(err as Error).message}`, { cause: err });
  }
  return { headers: { 'content-type': 'application/json' }, body: text };
}
