// What an S3 server answers when a request fails: a status and, usually, an
// XML body <Error><Code>NoSuchKey</Code><Message>…</Message>…</Error>. Only
// <Code> and <Message> are read, from a body of bounded size. The error
// carries `code` as minio-js's S3Error did, plus `status`, so that
// asTaskFailure (src/workers/failures.ts) and isUnreachable (minio-errors.ts)
// classify answers as they always have.

import type { IncomingMessage } from 'node:http';

/** Bytes of an error body kept at most; MinIO's are well under 1 KiB. */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;

/**
 * Statuses minio-js retried, then gave up on with "Retryable HTTP status"
 * (minio-go's list): the server is failing or shutting down (499), not
 * refusing the request. They are transient whatever the body says.
 */
const RETRYABLE_STATUSES = new Set([408, 429, 499, 500, 502, 503, 504, 520]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** minio-js's code for a status that came without an XML body. */
const CODE_OF_STATUS: ReadonlyMap<number, string> = new Map([
  [301, 'MovedPermanently'],
  [307, 'TemporaryRedirect'],
  [403, 'AccessDenied'],
  [404, 'NotFound'],
  [405, 'MethodNotAllowed'],
  [501, 'MethodNotAllowed'],
  [503, 'SlowDown'],
]);

/** An answer storaged cannot use: malformed HTTP, or not what was asked (other bytes, no ETag). */
export function badResponse(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_S3_BAD_RESPONSE' });
}

export interface S3ErrorAnswer extends Error {
  /** S3's error code (NoSuchKey, InvalidRange, …), or HTTP_<status> when the answer named none. */
  code: string;
  status: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function elementText(xml: string, name: string, maxChars: number): string | undefined {
  const match = new RegExp(`<${name}>([^<]{0,${maxChars}})</${name}>`).exec(xml);
  // Go's XML encoder writes ' as &#39;.
  return match?.[1]?.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, entity: string) => {
    if (entity[0] !== '#') return ENTITIES[entity]!;
    const point = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : Number(entity.slice(1));
    return point <= 0x10ffff ? String.fromCodePoint(point) : '\ufffd';
  });
}

/**
 * The error for a failed answer. `body` is the start of its body (at most
 * MAX_ERROR_BODY_BYTES); `minioCode` is the x-minio-error-code header, which
 * MinIO sends when a body cannot carry the code (a HEAD, say).
 */
export function s3ErrorOf(status: number, body: Uint8Array, minioCode?: string): S3ErrorAnswer {
  const xml = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, MAX_ERROR_BODY_BYTES)).toString('utf8');
  const code = elementText(xml, 'Code', 128) ?? CODE_OF_STATUS.get(status) ?? minioCode ?? `HTTP_${status}`;
  const detail = elementText(xml, 'Message', 1024);
  const message = `MinIO answered ${status} ${code}${detail === undefined || detail === '' ? '' : `: ${detail}`}`;
  return Object.assign(new Error(message), { code, status });
}

/** The error of a failed answer read through node:http (uploads, TLS reads): its body is read up to the bound. */
export async function s3ErrorOfResponse(res: IncomingMessage): Promise<S3ErrorAnswer> {
  const kept = Buffer.allocUnsafe(MAX_ERROR_BODY_BYTES);
  let length = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      length += chunk.copy(kept, length);
      if (length === MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // The status says enough; a body cut short only loses its detail.
  } finally {
    if (!res.complete) res.destroy();
  }
  return s3ErrorOf(res.statusCode ?? 0, kept.subarray(0, length), headerText(res.headers['x-minio-error-code']));
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
