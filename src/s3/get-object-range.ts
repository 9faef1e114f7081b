// A ranged GET of an object, its body copied into memory the caller gives.
// Over plain HTTP it runs on the thread's raw connections (no allocation per
// socket read), whose reader takes Content-Length and chunked answers (a
// proxy in front of the store); over TLS through node:https and the
// endpoint's agent, as TLS decrypts into buffers of its own anyway. An
// endpoint that answers with a body ended by the connection is read through
// node:http from then on. The raw reader is kept because in the same run
// (`npm run bench -- --only s3`, 2026-12-04) it read 1.15-1.19x node:http's
// MiB/s through the same endpoint and 1.18-1.24x through a chunking proxy,
// and because reading a 300 MB object raised the daemon's peak RSS by 3-13
// MiB with it against 44-47 MiB through node:http (test/integration/
// large-bodies.test.ts holds that bound).

import type { IncomingMessage } from 'node:http';
import { cancelledError, isCancelled, type CancelFlag } from './transfer-cancel';
import { connectionCutShort, type RawConnection } from './raw-connection';
import { NOT_LENGTH_FRAMED, type ResponseHead } from './response-reader';
import { badResponse, MAX_ERROR_BODY_BYTES, s3ErrorOf, s3ErrorOfResponse } from './s3-error';
import type { S3Endpoint } from './s3-endpoint';
import { EMPTY_SHA256 } from './sigv4-header-signer';

export interface RangeRead {
  /** Bytes written to the start of `into`: fewer than asked when the object ends first. */
  length: number;
  /** The object's whole size, from Content-Range. */
  objectSize: number;
}

export interface RangeRequest {
  bucket: string;
  key: string;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive; may lie past the object's end. */
  end: number;
  cancel?: CancelFlag | undefined;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

/** The byte count a Content-Range announces, or NaN. */
function rangeLengthOf(contentRange: string | undefined): number {
  const match = CONTENT_RANGE.exec(contentRange ?? '');
  return match === null ? NaN : Number(match[2]) - Number(match[1]) + 1;
}

/** The object's size from a 206's Content-Range, once it agrees with what was asked. */
function objectSizeOf(contentRange: string | undefined, contentLength: number, start: number, room: number): number {
  const match = CONTENT_RANGE.exec(contentRange ?? '');
  if (match === null) throw badResponse(`MinIO answered without a usable Content-Range (${String(contentRange)})`);
  const [first, last, size] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (first !== start || last < first || last >= size || last - first + 1 !== contentLength) {
    throw badResponse(`MinIO answered bytes ${first}-${last}/${size} in ${contentLength} bytes to a range from ${start}`);
  }
  if (contentLength > room) throw badResponse(`MinIO sent more bytes (${contentLength}) than the range holds (${room})`);
  return size;
}

/** Reads bytes start..end of bucket/key into `into`, which must hold end - start + 1 bytes. */
export async function getObjectRange(ep: S3Endpoint, req: RangeRequest, into: Uint8Array): Promise<RangeRead> {
  if (into.length < req.end - req.start + 1) throw new RangeError(`a range of ${req.end - req.start + 1} bytes does not fit in ${into.length}`);
  if (isCancelled(req.cancel)) throw cancelledError();
  const { host, path } = ep.address(req.bucket, req.key);
  const headers = ep.signedHeaders({ method: 'GET', host, path, query: '', extra: [['range', `bytes=${req.start}-${req.end}`]], payloadHash: EMPTY_SHA256 });
  return ep.connections === null ? readOverAgent(ep, path, headers, req, into) : readOverRawConnection(ep, path, headers, req, into);
}

/**
 * A chunked answer ended in good order short of its Content-Range: a
 * malformed answer, not a lost connection (which is transient).
 */
function endedShort(filled: number, expected: number): Error {
  return badResponse(`MinIO's answer ended after ${filled} of the ${expected} bytes its Content-Range announced`);
}

function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

async function readOverRawConnection(
  ep: S3Endpoint,
  path: string,
  headers: Array<[string, string]>,
  req: RangeRequest,
  into: Uint8Array,
): Promise<RangeRead> {
  const pool = ep.connections!;
  let request = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of headers) request += `${name}: ${value}\r\n`;
  request += '\r\n';
  let objectSize = 0;
  let expected = 0;
  let errorBody = new Uint8Array(0);
  const bodyFor = (head: ResponseHead): Uint8Array => {
    if (head.status === 206) {
      // A chunked answer (through a proxy, say) has no Content-Length: its Content-Range says how much comes.
      expected = head.contentLength ?? rangeLengthOf(head.headers.get('content-range'));
      objectSize = objectSizeOf(head.headers.get('content-range'), expected, req.start, into.length);
      return into.subarray(0, expected);
    }
    // An error body is read whole so that the connection stays usable, but only a small one
    // (a chunked one fails as a bad response past the bound).
    if (head.contentLength !== null && head.contentLength > MAX_ERROR_BODY_BYTES) throw s3ErrorOf(head.status, errorBody, head.headers.get('x-minio-error-code'));
    errorBody = new Uint8Array(head.contentLength ?? MAX_ERROR_BODY_BYTES);
    return errorBody;
  };
  let conn: RawConnection;
  let head: ResponseHead;
  for (let attempt = 1; ; attempt++) {
    conn = pool.take();
    try {
      head = await conn.exchange(request, bodyFor, { idleTimeoutMs: ep.idleTimeoutMs, cancel: req.cancel });
      break;
    } catch (err) {
      conn.destroy();
      // A kept connection that the server closed as it was reused fails before
      // any answer: once more on a new one (a GET changes nothing).
      if (attempt === 1 && conn.requests > 1 && !conn.answered && isConnectionLoss(err)) continue;
      if ((err as { code?: unknown }).code === NOT_LENGTH_FRAMED) {
        // Answers ended by the connection: node:http reads them, for this read and every later one.
        ep.stopRawReads();
        return readOverAgent(ep, path, headers, req, into);
      }
      throw err;
    }
  }
  const length = conn.bodyRead;
  pool.give(conn);
  if (head.status !== 206) throw s3ErrorOf(head.status, errorBody.subarray(0, length), head.headers.get('x-minio-error-code'));
  if (length !== expected) throw endedShort(length, expected);
  return { length, objectSize };
}

async function readOverAgent(ep: S3Endpoint, path: string, headers: Array<[string, string]>, req: RangeRequest, into: Uint8Array): Promise<RangeRead> {
  // Why the request died (an idle timeout, say), which the response only reports as "aborted".
  let requestError: Error | null = null;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = ep.transport.request({ host: ep.endPoint, port: ep.port, method: 'GET', path, headers: Object.fromEntries(headers), agent: ep.agent }, resolve);
    request.on('error', (err) => {
      requestError = err;
      reject(err);
    });
    request.end();
  });
  if (res.statusCode !== 206) throw await s3ErrorOfResponse(res);
  // A chunked answer (through a proxy, say) has no Content-Length: its Content-Range says how much comes.
  const contentLength = Number(res.headers['content-length'] ?? rangeLengthOf(res.headers['content-range']));
  let filled = 0;
  try {
    if (!Number.isSafeInteger(contentLength)) throw badResponse(`a 206 answer without a usable Content-Length or Content-Range (${String(res.headers['content-range'])})`);
    const objectSize = objectSizeOf(res.headers['content-range'], contentLength, req.start, into.length);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (isCancelled(req.cancel)) throw cancelledError();
      if (filled + chunk.length > contentLength) throw badResponse(`MinIO sent more than the ${contentLength} bytes it announced`);
      into.set(chunk, filled);
      filled += chunk.length;
    }
    if (filled !== contentLength) throw endedShort(filled, contentLength);
    return { length: filled, objectSize };
  } catch (err) {
    if (requestError !== null) throw requestError;
    // node:http reports a connection lost mid-body as "aborted".
    throw (err as { code?: unknown }).code === 'ECONNRESET' ? connectionCutShort(filled, contentLength) : err;
  } finally {
    if (!res.complete) res.destroy();
  }
}
