// What each route of the contract does: read its arguments off the request,
// call the coordinator, answer. Like the socket's call-dispatch table, this is
// all the gateway knows about storage; the coordinator checks every argument.

import type * as http from 'node:http';
import { ValidationError } from '../../protocol/errors';
import type { GatewayRoute } from '../../protocol/http-api';
import type { CallContext, Coordinator } from '../coordinator/coordinator';
import { parseUrlExpiry } from '../coordinator/url-expiry';
import type { Logger } from '../logger';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/metric-registry';
import { serveContent } from './content-route';
import { sendJson } from './error-response';
import { readJsonBody } from './json-body';
import { checkReadiness, type ReadinessChecks, type ReadinessDetails } from './readiness';
import { readStoreRequest } from './store-request';
import type { MemoryBudget } from '../memory/memory-budget';

export interface RouteDeps {
  coordinator: Coordinator;
  readiness: ReadinessChecks;
  readinessDetails?: ReadinessDetails;
  /** The Prometheus text of every registry. */
  renderMetrics: () => Promise<string>;
  openapi: Buffer;
  logger: Logger;
  maxJsonBytes: number;
  memoryBudget?: MemoryBudget;
}

export interface RouteCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  ctx: CallContext;
  params: Record<string, string>;
  query: URLSearchParams;
  requestId: string;
}

type Handler = (deps: RouteDeps, call: RouteCall) => Promise<void>;

/** Small JSON bodies: a metadata patch or a search query. */
const MAX_SMALL_JSON_BYTES = 1024 * 1024;

function onlyQuery(query: URLSearchParams, allowed: readonly string[]): void {
  for (const key of query.keys()) {
    if (!allowed.includes(key)) {
      throw new ValidationError(
        allowed.length === 0 ? `unexpected query parameter '${key}'` : `unknown query parameter '${key}'; allowed: ${allowed.join(', ')}`,
      );
    }
  }
}

/** Digits become numbers; anything else goes on as given, for the coordinator to refuse with its own message. */
function numeric(value: string | null): unknown {
  if (value === null) return undefined;
  return /^\d{1,15}$/.test(value) ? Number(value) : value;
}

const handlers: Record<GatewayRoute['op'], Handler> = {
  async storePhoto(d, { req, res, ctx, query }) {
    const limits = { maxJsonBytes: d.maxJsonBytes, signal: ctx.signal, ...(d.memoryBudget && { memoryBudget: d.memoryBudget }) };
    const { options, body, release } = await readStoreRequest(req, query, ctx.clientId, limits);
    try {
      sendJson(res, 201, await d.coordinator.storePhoto(ctx, options, body));
    } finally {
      release?.();
    }
  },
  async getPhoto(d, { res, ctx, params, query }) {
    onlyQuery(query, []);
    sendJson(res, 200, await d.coordinator.getPhoto(ctx, params.id));
  },
  async getPhotoUrl(d, { res, ctx, params, query }) {
    onlyQuery(query, ['expirySeconds']);
    const expirySeconds = numeric(query.get('expirySeconds'));
    const issued = Date.now();
    const url = await d.coordinator.getPhotoUrl(ctx, params.id, expirySeconds);
    sendJson(res, 200, { url, expiresAt: new Date(issued + parseUrlExpiry(expirySeconds) * 1000).toISOString() });
  },
  async readPhoto(d, { req, res, ctx, params, query, requestId }) {
    onlyQuery(query, []);
    await serveContent(d.coordinator, ctx, params.id!, req, res, requestId, d.logger);
  },
  async updatePhotoMetadata(d, { req, res, ctx, params }) {
    const patch = await readJsonBody(req, MAX_SMALL_JSON_BYTES);
    if (patch === undefined) throw new ValidationError('the body must be a JSON object of fields to change');
    sendJson(res, 200, await d.coordinator.updatePhotoMetadata(ctx, params.id, patch));
  },
  async deletePhoto(d, { res, ctx, params }) {
    await d.coordinator.deletePhoto(ctx, params.id);
    res.writeHead(204);
    res.end();
  },
  async searchPhotos(d, { req, res, ctx }) {
    const searchQuery = await readJsonBody(req, MAX_SMALL_JSON_BYTES);
    sendJson(res, 200, await d.coordinator.searchPhotos(ctx, searchQuery ?? {}));
  },
  async getUserPhotos(d, { res, ctx, params, query }) {
    onlyQuery(query, ['limit', 'offset', 'cursor']);
    const options: Record<string, unknown> = {};
    for (const key of ['limit', 'offset']) if (query.has(key)) options[key] = numeric(query.get(key));
    if (query.has('cursor')) options.cursor = query.get('cursor');
    sendJson(res, 200, await d.coordinator.getUserPhotos(ctx, params.userId, options));
  },
  async health(_d, { res }) {
    sendJson(res, 200, { status: 'ok' });
  },
  async ready(d, { res, ctx }) {
    const report = await checkReadiness(d.readiness);
    const status = report.ready ? 'ready' : 'unready';
    if (!ctx.admin) {
      // A tenant's probe learns which part is down, not why: the reasons name the blob store's address and the
      // backups' errors, which error bodies keep from remote callers (error-response.ts). The admin token reads them.
      const checks = Object.fromEntries(Object.entries(report.checks).map(([name, result]) => [name, result === 'ok' ? 'ok' : 'failing']));
      return sendJson(res, report.ready ? 200 : 503, { status, checks });
    }
    const details = d.readinessDetails?.();
    sendJson(res, report.ready ? 200 : 503, { status, checks: report.checks, ...(details && { details }) });
  },
  async metrics(d, { res }) {
    const text = await d.renderMetrics();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  },
  async openapi(d, { res }) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': d.openapi.length });
    res.end(d.openapi);
  },
};

export function runRoute(op: GatewayRoute['op'], deps: RouteDeps, call: RouteCall): Promise<void> {
  return handlers[op](deps, call);
}
