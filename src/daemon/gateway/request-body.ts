import type * as http from 'node:http';

/**
 * The request's bytes as an async iterable that leaves the request alone when
 * the reader stops early. Readable's default iterator destroys the stream on
 * an early exit, and destroying an unfinished request destroys its socket:
 * the 413 answering an oversized body would never reach the caller.
 */
export function requestBody(req: http.IncomingMessage): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() };
}
