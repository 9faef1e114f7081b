// The one error shape of the gateway: `{ error: { code, message, requestId } }`
// with the status of HTTP_STATUS_BY_CODE. What a remote caller reads must not
// describe the daemon's insides: INTERNAL says nothing, and UNAVAILABLE does
// not name the blob store's address (the log and /ready do), unless the error
// carries a message written for the caller (CallerMessage).

import type * as http from 'node:http';
import { toStorageError, type CallerMessage, type StorageError } from '../../protocol/errors';
import { HTTP_STATUS_BY_CODE, type HttpErrorBody } from '../../protocol/http-api';

const PUBLIC_MESSAGES: Partial<Record<StorageError['code'], string>> = {
  INTERNAL: 'internal error',
  UNAVAILABLE: 'storage is unavailable right now; try again later',
};

/** Which details may travel: limits, sizes and waits a caller can act on, nothing else. */
const PUBLIC_DETAILS = ['limit', 'size', 'retryAfterSeconds'];

function callerMessageOf(error: StorageError): string | undefined {
  const message = (error as Partial<CallerMessage>).callerMessage;
  return typeof message === 'string' ? message : undefined;
}

export function errorBody(error: StorageError, requestId: string): HttpErrorBody {
  const body: HttpErrorBody = {
    error: { code: error.code, message: callerMessageOf(error) ?? PUBLIC_MESSAGES[error.code] ?? error.message, requestId },
  };
  if (error.details !== undefined) {
    const details = Object.fromEntries(Object.entries(error.details).filter(([key]) => PUBLIC_DETAILS.includes(key)));
    if (Object.keys(details).length > 0) body.error.details = details;
  }
  return body;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers with the error, or cuts the connection when an answer has already begun. */
export function sendError(res: http.ServerResponse, err: unknown, requestId: string, headers: http.OutgoingHttpHeaders = {}): StorageError {
  const error = toStorageError(err);
  if (res.headersSent) {
    res.destroy();
    return error;
  }
  const retryAfter = error.details?.retryAfterSeconds;
  // RFC 9110 Retry-After, for 429 and 503: the same figure as details.retryAfterSeconds.
  const withRetry = typeof retryAfter === 'number' ? { ...headers, 'retry-after': String(retryAfter) } : headers;
  sendJson(res, HTTP_STATUS_BY_CODE[error.code], errorBody(error, requestId), withRetry);
  return error;
}
