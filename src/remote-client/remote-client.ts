// The remote transport: the same PhotoStorage methods as the sidecar client,
// carried over HTTP/1.1 to the daemon's gateway through one undici Pool of
// keep-alive connections. Bodies stream both ways; errors come back as the
// same classes with the same codes.

import { Pool, type Dispatcher } from 'undici';
import { ClosedError, ProtocolError, TimeoutError, ValidationError } from '../protocol/errors';
import type { CallOptions, PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import { abortReason, callTimeoutMs } from '../protocol/call-options';
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

interface Deadline {
  signal: AbortSignal;
  /** The call's bound on silence; a download's reader's too. */
  ms: number;
  /** Stops the timer; the caller's signal still reaches the request (a download's body). */
  clear(): void;
  /** The call is over: stops the timer and lets go of the caller's signal. */
  release(): void;
  progress(): void;
  callerAborted(): unknown;
}

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

  async storePhoto(data: PhotoBody, options: StorePhotoOptions, call?: CallOptions): Promise<PhotoResult> {
    // callTimeoutMs bounds silence, not the whole upload: each piece of the body sent restarts it.
    const deadline = this.#deadline('storePhoto', call);
    let request;
    try {
      request = storeRequest(data, options, this.clientId, deadline.progress);
    } catch (err) {
      deadline.release();
      throw err;
    }
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
      // A failed store ends the caller's stream, as stream.pipeline (and the sidecar client) would.
      const stream = data as { destroy?: () => unknown; readableEnded?: boolean };
      if (typeof stream.destroy === 'function' && !(data instanceof Uint8Array) && !stream.readableEnded) stream.destroy();
      // The caller's own stream failed: that error is theirs, not a transport failure.
      const source = request.sourceError();
      throw source !== undefined ? source : err;
    }
  }

  async getPhoto(id: string, call?: CallOptions): Promise<PhotoWithUrl> {
    return (await this.#json('getPhoto', 200, { method: 'GET', path: idPath(id) }, this.#deadline('getPhoto', call))) as PhotoWithUrl;
  }

  async getPhotoUrl(id: string, expirySeconds?: number, call?: CallOptions): Promise<string> {
    const path = `${idPath(id)}/url${urlExpiryQuery(expirySeconds)}`;
    const answer = (await this.#json('getPhotoUrl', 200, { method: 'GET', path }, this.#deadline('getPhotoUrl', call))) as { url?: unknown };
    if (typeof answer?.url !== 'string') throw new ProtocolError('getPhotoUrl: the gateway answered without a url');
    return answer.url;
  }

  async readPhoto(id: string, range?: ByteRangeRequest, call?: CallOptions): Promise<PhotoDownload> {
    const path = `${idPath(id)}/content`;
    const rangeValue = rangeHeader(range);
    const headers: Record<string, string> = rangeValue === null ? {} : { range: rangeValue };
    const deadline = this.#deadline('readPhoto', call);
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
      // The caller's signal still reaches the body (undici destroys it with the reason): that reason is theirs, as is.
      const body = downloadBody(response.body, (err) => deadline.callerAborted() ?? transportError('readPhoto', this.url, err), deadline.ms);
      body.once('close', deadline.release);
      return { info, body };
    } catch (err) {
      deadline.release();
      throw deadline.callerAborted() ?? transportError('readPhoto', this.url, err);
    } finally {
      deadline.clear();
    }
  }

  async updatePhotoMetadata(id: string, patch: PhotoMetadataPatch, call?: CallOptions): Promise<Photo> {
    const body = jsonBody('updatePhotoMetadata', patch);
    const request = { method: 'PUT', path: `${idPath(id)}/metadata`, ...body } as const;
    return (await this.#json('updatePhotoMetadata', 200, request, this.#deadline('updatePhotoMetadata', call))) as Photo;
  }

  async deletePhoto(id: string, call?: CallOptions): Promise<void> {
    await this.#json('deletePhoto', 204, { method: 'DELETE', path: idPath(id) }, this.#deadline('deletePhoto', call));
  }

  async searchPhotos(query: SearchQuery, call?: CallOptions): Promise<SearchResult> {
    const body = jsonBody('searchPhotos', query);
    const request = { method: 'POST', path: '/photos/search', ...body } as const;
    return (await this.#json('searchPhotos', 200, request, this.#deadline('searchPhotos', call))) as SearchResult;
  }

  async getUserPhotos(userId: string, options?: PaginationOptions, call?: CallOptions): Promise<PhotoPage> {
    const path = `${userPath(userId)}${pageQuery(options)}`;
    return (await this.#json('getUserPhotos', 200, { method: 'GET', path }, this.#deadline('getUserPhotos', call))) as PhotoPage;
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
  async #json(what: string, okStatus: number, call: Call, deadline: Deadline): Promise<unknown> {
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
      throw deadline.callerAborted() ?? transportError(what, this.url, err);
    } finally {
      deadline.release();
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

  /**
   * The call's timer (restarted by progress) joined with the caller's signal.
   * Joined by a listener removed once the call is over, not AbortSignal.any:
   * on Node 20 that ties every joined signal to a caller's long-lived one for
   * as long as it lives (about 2 KB a call, for good).
   */
  #deadline(what: string, call?: CallOptions): Deadline {
    const ms = callTimeoutMs(call, this.#settings.callTimeoutMs);
    const caller = call?.signal;
    const controller = new AbortController();
    // undici rejects (and destroys a body being read) with this reason when the deadline passes.
    const timer = setTimeout(() => controller.abort(new TimeoutError(`${what} got no answer within ${ms} ms`)), ms);
    const onAbort = () => controller.abort(abortReason(caller!));
    if (caller?.aborted) onAbort();
    else caller?.addEventListener('abort', onAbort, { once: true });
    return {
      signal: controller.signal,
      ms,
      clear: () => clearTimeout(timer),
      release: () => {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onAbort);
      },
      progress: () => void timer.refresh(),
      // The caller's abort is theirs: rejected with its reason, as fetch does, not as a transport failure.
      callerAborted: () => (caller?.aborted ? abortReason(caller) : undefined),
    };
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
