// Turns what the minio client throws into storaged's errors: "the object is not
// there" becomes null or NOT_FOUND for the caller to handle, "MinIO cannot be
// reached or is failing" becomes UNAVAILABLE (retryable). Messages name the
// endpoint, never the credentials.

import { UnavailableError } from '../protocol/errors';
import { isRetryableStatus } from './s3-error';

/** Socket-level failures: nothing answered, or the connection died. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * S3 error codes of a server answering 5xx. minio-js keeps only the code of an
 * S3 error, not the status, so 5xx is recognised by these names.
 */
const SERVER_FAILING = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'XMinioServerNotInitialized',
  'XMinioReadQuorum',
  'XMinioWriteQuorum',
]);

export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'NotFound' || code === 'NoSuchKey';
}

/**
 * minio-js retries an answer of 408, 429, 499 or 5xx once by itself, then
 * throws a plain Error that says so (a MinIO shutting down answers 499).
 */
const RETRIED_STATUS = /Retryable HTTP status: (\d{3})/;

export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: unknown; status?: unknown };
  if (typeof e.code === 'string' && (UNREACHABLE.has(e.code) || SERVER_FAILING.has(e.code))) return true;
  // Our own requests (s3-error.ts) keep the status: a server failing or shedding load.
  if (typeof e.status === 'number' && isRetryableStatus(e.status)) return true;
  if (err instanceof Error && RETRIED_STATUS.test(err.message)) return true;
  if (typeof e.cause?.code === 'string' && UNREACHABLE.has(e.cause.code)) return true;
  return e.name === 'AbortError' || e.name === 'TimeoutError';
}

/** An UnavailableError for connection failures; anything else is returned unchanged. */
export function mapMinioError(err: unknown, where: string, action: string): unknown {
  if (!isUnreachable(err)) return err;
  const status = err instanceof Error ? RETRIED_STATUS.exec(err.message)?.[1] : undefined;
  const reason = (err as { code?: unknown }).code ?? (status === undefined ? undefined : `HTTP ${status}`) ?? (err as { name?: unknown }).name ?? 'error';
  return new UnavailableError(`MinIO at ${where} is unreachable: ${String(reason)} while trying to ${action}`, { cause: err });
}
