// A request's body as the routes read it, with the gateway's timeout for
// bodies: no bytes for `idle` ms while a route waits for them ends the read
// with BodyIdleTimeoutError. It bounds silence, not the whole upload (a
// whole-request timeout cut off any 5 GiB upload slower than 17 MB/s), and
// a route that is slow to read (back-pressure) is not counted against the caller.

import type * as http from 'node:http';
import { TimeoutError } from '../../protocol/errors';

/** How long a request body may go without a byte, unless the gateway sets another (STORAGED_BODY_IDLE_TIMEOUT_S). */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000;

/** The caller stopped sending in the middle of its body; the gateway answers 408 and closes the connection. */
export class BodyIdleTimeoutError extends TimeoutError {
  constructor(idleMs: number) {
    super(`no bytes of the request body arrived for ${idleMs / 1000} s; the upload was cut, send it again`);
    this.name = 'BodyIdleTimeoutError';
  }
}

const idleTimeouts = new WeakMap<http.IncomingMessage, number>();

/** The idle timeout for `req`'s body (the gateway sets its configured one on every request). */
export function setBodyIdleTimeout(req: http.IncomingMessage, ms: number): void {
  idleTimeouts.set(req, ms);
}

/**
 * The request's bytes as an async iterable that leaves the request alone when
 * the reader stops early. Readable's default iterator destroys the stream on
 * an early exit, and destroying an unfinished request destroys its socket:
 * the 413 answering an oversized body would never reach the caller.
 */
export function requestBody(req: http.IncomingMessage): AsyncIterable<Uint8Array> {
  const idleMs = idleTimeouts.get(req) ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  return {
    [Symbol.asyncIterator]: () => {
      const inner = req.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
      return {
        next: () => withinIdle(inner.next(), idleMs),
        return: (value?: unknown) => inner.return!(value),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}

function withinIdle<T>(next: Promise<T>, idleMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyIdleTimeoutError(idleMs)), idleMs);
  });
  // A read abandoned at the timeout may still settle later; nobody waits for it then.
  next.catch(() => undefined);
  return Promise.race([next, idle]).finally(() => clearTimeout(timer));
}
