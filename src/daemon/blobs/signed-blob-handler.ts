// Serves GET/HEAD /blobs/<bucket>/<key>?expires=…&signature=… for the local
// backend: the stand-in for MinIO's presigned URLs. Supports one byte range.

import type * as http from 'node:http';
import type { ErrorCode } from '../../protocol/errors';
import { pipeline } from 'node:stream';
import type { Logger } from '../logger';
import type { FsBlobStore } from './fs-blob-store';
import type { BlobUrlSigner } from './fs-url-signer';
import { servedContentType } from './served-content-type';

const PREFIX = '/blobs/';

type HandlerErrorCode = Extract<ErrorCode, 'FORBIDDEN' | 'NOT_FOUND' | 'VALIDATION' | 'INTERNAL'>;

function sendError(res: http.ServerResponse, status: number, code: HandlerErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

type RangeRequest = { start: number; end: number } | null | 'unsatisfiable';

/** Parses `bytes=a-b`, `bytes=a-` or `bytes=-n`; null when absent or not a single range (served whole). */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges and other units are allowed to be ignored (RFC 9110 §14.2): send the whole body.
  if (m === null || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null; // a-b with b < a is invalid, so ignored
  }
  return start >= size || start > end ? 'unsatisfiable' : { start, end };
}

/** Returns false for paths outside /blobs/ so the caller can route them elsewhere. */
export function createSignedBlobHandler(store: FsBlobStore, signer: BlobUrlSigner, logger: Logger) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(PREFIX)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendError(res, 405, 'VALIDATION', 'only GET and HEAD are allowed on blob URLs');
      return true;
    }
    let bucket: string;
    let key: string;
    try {
      const [first, ...rest] = url.pathname.slice(PREFIX.length).split('/').map(decodeURIComponent);
      bucket = first ?? '';
      key = rest.join('/');
      store.pathOf(bucket, key);
    } catch {
      sendError(res, 404, 'NOT_FOUND', 'no such object');
      return true;
    }
    const disposition = url.searchParams.get('response-content-disposition');
    const contentType = url.searchParams.get('response-content-type');
    const overrides = disposition === null || contentType === null ? null : { disposition, contentType };
    const check = signer.verify(bucket, key, url.searchParams.get('expires'), url.searchParams.get('signature'), Date.now(), overrides);
    if (check !== 'ok') {
      sendError(res, 403, 'FORBIDDEN', check === 'expired' ? 'this URL has expired' : 'the URL signature is not valid');
      return true;
    }
    void (async () => {
      const info = await store.stat(bucket, key);
      if (info === null) return sendError(res, 404, 'NOT_FOUND', 'no such object');
      const range = parseRange(req.headers.range, info.size);
      if (range === 'unsatisfiable') {
        res.setHeader('content-range', `bytes */${info.size}`);
        return sendError(res, 416, 'VALIDATION', 'requested range not satisfiable');
      }
      // Open before the status line goes out, so a blob deleted meanwhile is still a clean 404.
      let body: NodeJS.ReadableStream | null = null;
      if (req.method === 'GET' && info.size > 0) {
        try {
          body = await store.read(bucket, key, range ?? undefined);
        } catch (err) {
          if ((err as { code?: unknown }).code === 'NOT_FOUND') return sendError(res, 404, 'NOT_FOUND', 'no such object');
          throw err;
        }
      }
      const headers: http.OutgoingHttpHeaders = {
        'content-type': overrides?.contentType ?? servedContentType(key),
        ...(overrides && { 'content-disposition': overrides.disposition }),
        // Bytes are the caller's: never let a browser reinterpret them or run scripts inside (SVG).
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        'accept-ranges': 'bytes',
        'last-modified': info.lastModified.toUTCString(),
        'content-length': range === null ? info.size : range.end - range.start + 1,
      };
      if (range !== null) headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
      res.writeHead(range === null ? 200 : 206, headers);
      if (body === null) return res.end();
      pipeline(body, res, (err) => {
        if (err) logger.debug({ err, bucket, key }, 'blob download ended early');
      });
    })().catch((err: unknown) => {
      logger.error({ err, bucket, key }, 'serving a blob failed');
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
      else res.destroy();
    });
    return true;
  };
}
