// GET/HEAD /photos/:id/content: the bytes, streamed with back-pressure, with
// single ranges (206/416) and If-None-Match (304). Metadata alone (HEAD, a
// conditional request, a suffix range whose start needs the size) comes from
// getPhoto, which reads the catalog and opens nothing in the blob store.

import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import { ClosedError, RangeNotSatisfiableError } from '../../protocol/errors';
import { PartReturns } from '../blobs/part-returns';
import { givePartBack, takeOnlyPart } from '../blobs/read-in-parts';
import type { CallContext, Coordinator } from '../coordinator/coordinator';
import type { Logger } from '../logger';
import { contentHeaders, etagOf, noneMatchHits, type ContentDescription } from './content-headers';
import { sendError } from './error-response';
import { parseRangeHeader, rangeWithin } from './range-header';

function unsatisfiable(size: number): RangeNotSatisfiableError {
  return new RangeNotSatisfiableError(`the requested range is outside the photo's ${size} bytes`, { details: { size } });
}

function sendUnsatisfiable(res: http.ServerResponse, err: RangeNotSatisfiableError, requestId: string): void {
  const size = err.details?.['size'];
  sendError(res, err, requestId, typeof size === 'number' ? { 'content-range': `bytes */${size}` } : {});
}

function writeHeadFor(res: http.ServerResponse, photo: ContentDescription, span: { start: number; end: number }, partial: boolean): void {
  const headers = contentHeaders(photo);
  headers['content-length'] = span.end - span.start + 1;
  if (partial) headers['content-range'] = `bytes ${span.start}-${span.end}/${photo.size}`;
  res.writeHead(partial ? 206 : 200, headers);
}

export async function serveContent(
  coordinator: Coordinator,
  ctx: CallContext,
  id: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  requestId: string,
  logger: Logger,
): Promise<void> {
  const range = parseRangeHeader(req.headers.range);
  const ifNoneMatch = req.headers['if-none-match'];
  const needsMetadata = req.method === 'HEAD' || ifNoneMatch !== undefined || range.kind === 'suffix';
  const photo = needsMetadata ? await coordinator.getPhoto(ctx, id) : null;

  if (photo !== null && noneMatchHits(ifNoneMatch, etagOf(photo.checksum))) {
    const headers = contentHeaders(photo);
    res.writeHead(304, { etag: headers.etag, 'cache-control': headers['cache-control'] });
    res.end();
    return;
  }
  let request: { start: number; end?: number } | undefined;
  if (photo !== null) {
    const span = rangeWithin(range, photo.size);
    if (span === null) return sendUnsatisfiable(res, unsatisfiable(photo.size), requestId);
    if (req.method === 'HEAD') {
      writeHeadFor(res, photo, span, range.kind !== 'whole');
      res.end();
      return;
    }
    if (range.kind !== 'whole') request = span;
  } else if (range.kind === 'from') {
    request = range.end === undefined ? { start: range.start } : { start: range.start, end: range.end };
  }

  let content;
  try {
    content = await coordinator.readPhoto(ctx, id, request);
  } catch (err) {
    if (err instanceof RangeNotSatisfiableError) return sendUnsatisfiable(res, err, requestId);
    throw err;
  }
  const { info, body } = content;
  // The caller went away while the bytes were asked for (ctx.signal says the
  // same, but making it costs an AbortController per download: 2% of the
  // daemon's main thread at 16 downloads of 200 KB in flight).
  if (res.destroyed) {
    body.destroy();
    return;
  }
  writeHeadFor(res, info, info, request !== undefined);
  try {
    const only = takeOnlyPart(body);
    await (only === null ? sendBody(body, res) : sendOnlyPart(only, res));
  } catch (err) {
    logger.debug({ err, requestId, photoId: id }, 'photo download ended early');
  }
}

/** Resolves once `res` can take more (or is gone). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes a body that is one part in one write (with the head: one writev),
 * and gives its memory back once the socket is done with it (the write's
 * callback also runs, with an error, when the socket is destroyed first).
 * Resolves then, or when the response closes first: a response queued behind
 * an earlier one on its connection may never reach the socket.
 */
function sendOnlyPart(bytes: Buffer, res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const over = () => {
      res.off('close', over);
      resolve();
    };
    res.once('close', over);
    res.write(bytes, () => {
      givePartBack(bytes);
      over();
    });
    res.end();
  });
}

/**
 * Writes the body with back-pressure and gives each downloaded part's memory
 * back once its last write is done (PartReturns), as the socket's sender
 * does: a piped part would be dropped as garbage. The blob stream is
 * destroyed when the caller goes away; the response is cut when the store
 * fails mid-way.
 */
async function sendBody(body: Readable, res: http.ServerResponse): Promise<void> {
  const returns = new PartReturns();
  try {
    for await (const piece of body as AsyncIterable<Buffer>) {
      if (res.destroyed) throw new ClosedError('the caller went away');
      const written = returns.writing(piece);
      // The callback runs once the socket is done with the bytes, or with an error when it is destroyed first.
      if (!res.write(piece, () => written())) await drained(res);
    }
    if (res.destroyed) throw new ClosedError('the caller went away');
    res.end();
  } catch (err) {
    body.destroy();
    res.destroy();
    throw err;
  } finally {
    returns.end();
  }
}
