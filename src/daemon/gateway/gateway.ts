// The HTTP gateway: remote services' door into the coordinator. Per request:
// an id (echoed in X-Request-Id), the route, the bearer token (which decides
// the client id: never the request), the call, one JSON error shape, a line in
// the access log and the request metrics. Storage logic: none. The caller's
// address is the TCP peer's, or behind a trusted proxy the one it forwarded
// (trusted-proxies.ts).

import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { NotFoundError, ValidationError, ForbiddenError, UnauthorizedError, ClosedError, RateLimitedError } from '../../protocol/errors';
import { CallAdmission, DEFAULT_CALL_LIMITS, type AdmissionTicket } from '../admission/call-admission';
import { RequestBuckets, type RequestRate } from '../admission/request-rate';
import { addressKey, type AuthFailures } from '../admission/auth-failures';
import { REQUEST_ID_HEADER } from '../../protocol/http-api';
import type { GatewayIdentity, GatewayTokens } from '../config/gateway-tokens';
import type { Coordinator } from '../coordinator/coordinator';
import type { RouteHandler } from '../http/http-server';
import type { Logger } from '../logger';
import type { MetricRegistry } from '../metrics/metric-registry';
import type { MemoryBudget } from '../memory/memory-budget';
import { errorBody, sendError, sendJson } from './error-response';
import { HttpMetrics } from './http-metrics';
import type { ReadinessChecks, ReadinessDetails } from './readiness';
import { requestIdOf } from './request-id';
import { BodyIdleTimeoutError, setBodyIdleTimeout } from './request-body';
import { runRoute } from './route-handlers';
import { matchRoute } from './route-match';
import { clientAddress, type TrustedProxies } from './trusted-proxies';
import { CallAbort } from '../socket/call-abort';

/** dist/src/daemon/gateway/ → the package root, where openapi/ is shipped. */
export const OPENAPI_PATH = path.resolve(__dirname, '../../../../openapi/gateway.openapi.json');

export const MAX_URL_BYTES = 8 * 1024;
export const DEFAULT_MAX_JSON_UPLOAD_BYTES = 16 * 1024 * 1024;
/**
 * A body refused before it was read is drained and discarded, up to these
 * bounds, so that the client reads the answer: a client still sending when
 * the connection closed under it sees EPIPE or ECONNRESET, not the 413 or 401
 * (Node's fetch and undici do). Past either bound the connection is cut, so a
 * client cannot hold the daemon's socket by sending forever.
 */
const DRAIN_MAX_BYTES = 128 * 1024 * 1024;
const DRAIN_MAX_MS = 5_000;

export interface GatewayOptions {
  coordinator: Coordinator;
  tokens: GatewayTokens;
  readiness: ReadinessChecks;
  /** Shown in /ready without deciding it (the last backup's outcome). */
  readinessDetails?: ReadinessDetails;
  /** Registries besides the gateway's own that /metrics renders (the coordinator's store metrics). */
  registries: MetricRegistry[];
  logger: Logger;
  maxJsonUploadBytes?: number;
  /** JSON uploads take their share of it before they are read. */
  memoryBudget?: MemoryBudget;
  /** How long a request body may go without a byte (request-body.ts's default when absent). */
  bodyIdleTimeoutMs?: number;
  /** The daemon's slots for calls, shared with the socket; the gateway's own, with the default limits, when absent. */
  admission?: CallAdmission;
  /** STORAGED_GATEWAY_RATE: requests per token; null or absent for no limit. */
  rate?: RequestRate | null;
  /** STORAGED_AUTH_FAILURE_RATE: wrong tokens per caller's address; null or absent for no limit. */
  authFailures?: AuthFailures | null;
  /** STORAGED_TRUSTED_PROXIES: peers whose X-Forwarded-For names the caller; null or absent: the peer is the caller. */
  trustedProxies?: TrustedProxies | null;
}

/** Routes that are not storage calls: they take no slot (an operator's /ready must answer when the daemon is full). */
const UNMETERED_OPS: ReadonlySet<string> = new Set(['health', 'ready', 'metrics', 'openapi']);

const BEARER = /^Bearer +([^\s]+) *$/i;

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!value.includes('%')) {
      params[key] = value;
      continue;
    }
    try {
      params[key] = decodeURIComponent(value);
    } catch {
      throw new ValidationError(`path parameter ${key} is not valid percent-encoded UTF-8`);
    }
  }
  return params;
}

export class Gateway {
  readonly metrics = new HttpMetrics();
  readonly #options: GatewayOptions;
  readonly #openapi: Buffer;
  readonly #admission: CallAdmission;
  readonly #buckets: RequestBuckets | null;

  constructor(options: GatewayOptions) {
    this.#options = options;
    // Read once at start: a package shipped without it fails loudly here, not on the first request.
    this.#openapi = fs.readFileSync(OPENAPI_PATH);
    this.#admission = options.admission ?? new CallAdmission(DEFAULT_CALL_LIMITS);
    this.#buckets = options.rate ? new RequestBuckets(options.rate) : null;
    if (options.tokens.size === 0) {
      options.logger.warn('the HTTP gateway has no tokens (STORAGED_TOKENS_FILE or STORAGED_TOKENS): every route but /health answers 401');
    }
  }

  /** A RouteHandler for HttpServer; it answers every request it is given. */
  readonly handle: RouteHandler = (req, res) => {
    void this.#serve(req, res);
    return true;
  };

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const method = req.method ?? 'GET';
    const bytesBefore = req.socket.bytesWritten;
    const remoteAddress = req.socket.remoteAddress;
    const caller = clientAddress(req, this.#options.trustedProxies ?? null);
    const abort = new CallAbort();
    let route = 'unmatched';
    let clientId: string | undefined;
    let admin = false;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Every answer, errors included: a browser must never sniff a JSON body (which may echo a caller's text) into HTML.
    res.setHeader('x-content-type-options', 'nosniff');
    if (this.#options.bodyIdleTimeoutMs !== undefined) setBodyIdleTimeout(req, this.#options.bodyIdleTimeoutMs);
    res.once('close', () => {
      // 'close' before 'finish': the caller went away; anything still running for it stops and cleans up.
      if (!res.writableFinished) abort.abort(new ClosedError('the caller went away'));
      const status = res.writableFinished ? res.statusCode : 499;
      const seconds = (performance.now() - started) / 1000;
      this.metrics.record(route, method, status, seconds);
      this.#options.logger.info(
        {
          requestId,
          method,
          route,
          status,
          bytes: req.socket.bytesWritten - bytesBefore,
          durationMs: Math.round(seconds * 1e4) / 10,
          clientId,
          remoteAddress,
          // Only behind a trusted proxy, where the peer is the proxy and this the caller it forwarded.
          ...(caller !== remoteAddress && { clientAddress: caller }),
        },
        'http request',
      );
    });

    try {
      const url = req.url ?? '/';
      if (Buffer.byteLength(url) > MAX_URL_BYTES) {
        // 414 rather than the 400 of VALIDATION: the status tells a proxy or client what to shorten.
        return sendJson(res, 414, errorBody(new ValidationError(`the URL is longer than ${MAX_URL_BYTES} bytes`), requestId));
      }
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      const match = matchRoute(method, pathname);
      if (match.kind === 'none') throw new NotFoundError(`no route for ${method} ${pathname.slice(0, 200)}`);
      if (match.kind === 'method') {
        route = match.template;
        const refusal = new ValidationError(`${method} is not allowed on ${match.template}; allowed: ${match.allow.join(', ')}`);
        this.#drainUnread(req);
        return sendJson(res, 405, errorBody(refusal, requestId), { allow: match.allow.join(', ') });
      }
      route = match.route.path;
      if (match.route.auth !== 'none') {
        const identity = this.#authenticate(req, caller);
        clientId = identity.clientId;
        admin = identity.admin;
        if (match.route.auth === 'admin' && !identity.admin) throw new ForbiddenError(`${route} needs an admin token`);
        this.#checkRate(identity.tokenNumber);
      }
      const metered = clientId !== undefined && !UNMETERED_OPS.has(match.route.op);
      if (metered && !this.#admission.tryEnter(clientId!)) await this.#waitForSlot(clientId!, req, res);
      try {
        await runRoute(
          match.route.op,
          {
            coordinator: this.#options.coordinator,
            readiness: this.#options.readiness,
            ...(this.#options.readinessDetails && { readinessDetails: this.#options.readinessDetails }),
            // A registry whose figures are read asynchronously (the catalog's counts) refreshes them first.
            renderMetrics: async () => {
              const registries = [...this.#options.registries, this.metrics.registry];
              await Promise.all(registries.map((r) => (r as { refresh?: () => Promise<void> }).refresh?.()));
              return registries.map((r) => r.render()).join('');
            },
            openapi: this.#openapi,
            logger: this.#options.logger,
            maxJsonBytes: this.#options.maxJsonUploadBytes ?? DEFAULT_MAX_JSON_UPLOAD_BYTES,
            ...(this.#options.memoryBudget && { memoryBudget: this.#options.memoryBudget }),
          },
          {
            req,
            res,
            ctx: {
              clientId: clientId ?? '',
              admin,
              get signal() {
                return abort.signal;
              },
            },
            params: decodeParams(match.params),
            query,
            requestId,
          },
        );
      } finally {
        if (metered) this.#admission.release(clientId!);
      }
    } catch (err) {
      this.#fail(req, res, err, requestId);
    }
  }

  /**
   * The caller the bearer token stands for. A wrong token spends one of its
   * address's (`caller`: clientAddress's answer) allowance of failures (STORAGED_AUTH_FAILURE_RATE); once that
   * is spent, the address's requests are refused RATE_LIMITED before their
   * token is looked at, right or wrong, until the allowance grows back. A
   * request without the header guesses nothing and is not counted.
   */
  #authenticate(req: http.IncomingMessage, caller: string | undefined): GatewayIdentity {
    const header = req.headers.authorization;
    if (header === undefined) throw new UnauthorizedError('this route needs an Authorization: Bearer <token> header');
    const failures = this.#options.authFailures ?? null;
    const address = addressKey(caller);
    const waitSeconds = failures?.check(address) ?? 0;
    if (waitSeconds > 0) {
      throw new RateLimitedError(
        `too many requests with a wrong token from this address (STORAGED_AUTH_FAILURE_RATE); retry in ${waitSeconds} s`,
        { details: { retryAfterSeconds: waitSeconds } },
      );
    }
    const match = BEARER.exec(header);
    const identity = match === null ? null : this.#options.tokens.identify(match[1]!);
    if (identity !== null) return identity;
    if (failures?.fail(address)) {
      this.#options.logger.warn(
        { address, rate: failures.rate },
        'wrong bearer tokens from one address past STORAGED_AUTH_FAILURE_RATE: its requests are refused 429 until its allowance grows back',
      );
    }
    throw new UnauthorizedError('the bearer token is not valid');
  }

  /** Throws RATE_LIMITED (429 with Retry-After) when this token has spent its allowance. */
  #checkRate(tokenNumber: number): void {
    const rate = this.#options.rate;
    const waitSeconds = this.#buckets?.take(tokenNumber) ?? 0;
    if (waitSeconds === 0) return;
    throw new RateLimitedError(
      `this token is past its rate of ${rate!.perSecond}/s with bursts of ${rate!.burst} (STORAGED_GATEWAY_RATE); retry in ${waitSeconds} s`,
      { details: { retryAfterSeconds: waitSeconds } },
    );
  }

  /** Resolves once a slot for this request is its own; rejects with the refusal, or when the caller goes away first. */
  #waitForSlot(clientId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const admission = this.#admission;
    return new Promise((resolve, reject) => {
      const gone = () => {
        admission.withdraw(clientId, ticket);
        reject(new ClosedError('the caller went away'));
      };
      const ticket: AdmissionTicket = {
        start: () => {
          res.off('close', gone);
          resolve();
        },
        refuse: (error) => {
          res.off('close', gone);
          reject(error);
        },
      };
      res.once('close', gone);
      let headerBytes = req.url?.length ?? 0;
      for (const field of req.rawHeaders) headerBytes += field.length;
      admission.wait(clientId, headerBytes, ticket);
    });
  }

  /**
   * Reads and discards what is left of a refused request's body, within
   * DRAIN_MAX_BYTES and DRAIN_MAX_MS, so that the answer reaches a client
   * still sending; the connection stays usable once the body has ended.
   */
  #drainUnread(req: http.IncomingMessage): void {
    if (req.complete || req.destroyed) return;
    let drained = 0;
    const cut = () => req.socket.destroy();
    const timer = setTimeout(cut, DRAIN_MAX_MS);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_MAX_BYTES) {
        done();
        cut();
      }
    });
    req.once('end', done);
    req.once('close', done);
    // A body a route began to read and gave up on is paused: take it from here.
    req.unpipe();
    req.resume();
  }

  #fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, requestId: string): void {
    if (res.destroyed) return;
    this.#drainUnread(req);
    if (err instanceof BodyIdleTimeoutError) {
      // 408, not TIMEOUT's 504: the caller is the one who went quiet. The rest of its body will not come.
      if (!res.headersSent) sendJson(res, 408, errorBody(err, requestId), { connection: 'close' });
      else res.destroy();
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    if (err instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer realm="storaged"';
    const error = sendError(res, err, requestId, headers);
    if (error.code === 'INTERNAL' || error.code === 'UNAVAILABLE') {
      this.#options.logger.warn({ err: (error.cause as Error | undefined) ?? error, requestId, code: error.code }, 'gateway call failed');
    }
  }
}
