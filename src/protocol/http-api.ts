// The HTTP gateway's contract, shared by the gateway (src/daemon/gateway) and
// the remote client (src/remote-client): routes, the headers that carry store
// options, and how error codes map to statuses. One table, so the two sides
// and the OpenAPI document cannot drift apart.

import type { ErrorCode } from './errors';

/** Every error answer has this JSON shape. */
export interface HttpErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: Record<string, unknown> };
}

/** The same code gives the same status on every route. */
export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  VALIDATION: 400,
  PROTOCOL: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  UNSUPPORTED_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  CHECKSUM_MISMATCH: 422,
  TOO_MANY_IN_FLIGHT: 429,
  RATE_LIMITED: 429,
  CLOSED: 499,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/**
 * Store options of a raw-body `POST /photos`, as headers (the same names are
 * accepted as query parameters: filename, userId, sessionId, metadata, sha256).
 * The client id is never taken from the request: it is the token's.
 */
export const STORE_HEADERS = {
  /** Original filename, percent-encoded (RFC 3986) so any name fits in a header. */
  filename: 'x-filename',
  userId: 'x-user-id',
  sessionId: 'x-session-id',
  /** JSON object of string values. */
  metadata: 'x-metadata',
  /** Hex sha256 of the body; a mismatch fails the store (CHECKSUM_MISMATCH). */
  sha256: 'x-content-sha256',
} as const;

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A store's idempotency key (StorePhotoOptions.idempotencyKey), on every form
 * of `POST /photos`: a repeat with the same key is answered with the first
 * store's result; the same key with another body or options is 409 CONFLICT.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Routes of the gateway, in the seed's shape. `:id` and `:userId` are path parameters. */
export const ROUTES = [
  { method: 'POST', path: '/photos', op: 'storePhoto', auth: 'client' },
  { method: 'GET', path: '/photos/:id', op: 'getPhoto', auth: 'client' },
  { method: 'GET', path: '/photos/:id/url', op: 'getPhotoUrl', auth: 'client' },
  { method: 'GET', path: '/photos/:id/content', op: 'readPhoto', auth: 'client' },
  { method: 'PUT', path: '/photos/:id/metadata', op: 'updatePhotoMetadata', auth: 'client' },
  { method: 'DELETE', path: '/photos/:id', op: 'deletePhoto', auth: 'client' },
  { method: 'POST', path: '/photos/search', op: 'searchPhotos', auth: 'client' },
  { method: 'GET', path: '/users/:userId/photos', op: 'getUserPhotos', auth: 'client' },
  { method: 'GET', path: '/health', op: 'health', auth: 'none' },
  { method: 'GET', path: '/ready', op: 'ready', auth: 'client' },
  { method: 'GET', path: '/metrics', op: 'metrics', auth: 'admin' },
  { method: 'GET', path: '/openapi.json', op: 'openapi', auth: 'client' },
] as const;

export type GatewayRoute = (typeof ROUTES)[number];
