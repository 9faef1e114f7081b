// Turns what went wrong on the HTTP side into the same error classes the
// sidecar client throws: a gateway's JSON error body becomes its typed error,
// a network failure UNAVAILABLE, a timeout TIMEOUT.

import type { Dispatcher } from 'undici';
import {
  ClosedError,
  InternalError,
  ProtocolError,
  StorageError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  errorFromWire,
  isErrorCode,
} from '../protocol/errors';
import { REQUEST_ID_HEADER } from '../protocol/http-api';
import { readBounded } from './bounded-body';

/** An error answer is a short JSON document; a longer one is not worth reading. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function byStatus(status: number, text: string): StorageError {
  if (status === 401) return new UnauthorizedError(text);
  if (status === 413) return new TooLargeError(text);
  if (status === 502 || status === 503) return new UnavailableError(text);
  if (status === 504) return new TimeoutError(text);
  if (status >= 500) return new InternalError(text);
  return new ProtocolError(text);
}

/** The typed error of a non-2xx answer. Consumes (or discards) the body. */
export async function errorFromResponse(what: string, response: Dispatcher.ResponseData): Promise<StorageError> {
  const requestId = header(response.headers, REQUEST_ID_HEADER);
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readBounded(response.body, MAX_ERROR_BODY_BYTES)).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const wire = (parsed as { error?: unknown } | undefined)?.error;
  if (typeof wire === 'object' && wire !== null && isErrorCode((wire as { code?: unknown }).code)) {
    const { code, message, details } = wire as { code: string; message?: unknown; details?: unknown };
    const extra = typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
    // The request id lets an operator find the gateway's log line for this failure.
    return errorFromWire({ code, message, details: requestId === undefined ? details : { ...extra, requestId } });
  }
  const suffix = requestId === undefined ? '' : ` (request id ${requestId})`;
  return byStatus(response.statusCode, `${what}: the gateway answered HTTP ${response.statusCode} without an error body${suffix}`);
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const CLOSED_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const CALLER_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'ERR_INVALID_CHAR', 'ERR_HTTP_INVALID_HEADER_VALUE']);

/** A failure below HTTP (connect, socket, timeout) as a StorageError; StorageErrors pass unchanged. */
export function transportError(what: string, origin: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  const reason = err instanceof Error ? err.message : String(err);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new TimeoutError(`${what}: no answer from the gateway at ${origin} in time (${reason})`, { cause: err });
  }
  if (code !== undefined && CLOSED_CODES.has(code)) return new ClosedError('the storage client is closed', { cause: err });
  if (code !== undefined && CALLER_CODES.has(code)) return new ValidationError(`${what}: ${reason}`, { cause: err });
  if (code !== undefined) {
    return new UnavailableError(`${what}: the gateway at ${origin} could not be reached or dropped the connection (${code}: ${reason})`, {
      cause: err,
    });
  }
  return new InternalError(`${what} failed: ${reason}`, { cause: err });
}
