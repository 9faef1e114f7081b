// The bytes of a readPhoto answer as the application's Readable. undici's
// body already pauses the socket when nobody reads; this shim only turns its
// failures (socket dropped, stalled) into the storaged error classes, without
// copying a byte.

import { Readable } from 'node:stream';
import { TimeoutError } from '../protocol/errors';
/** `mapError` gives the reader's error for the source's: a StorageError, or the caller's own abort reason. */
/**
 * `idleMs` bounds the reader's silence as the sidecar client does (its call
 * timeout): with bytes waiting and nobody reading for that long (a download
 * abandoned, neither read nor destroyed), the body fails with TIMEOUT and the
 * connection is let go. undici's bodyTimeout does not cover this: it stops
 * counting while the body is paused.
 */
export function downloadBody(source: Readable, mapError: (err: unknown) => unknown, idleMs = 0): Readable {
  let idle: NodeJS.Timeout | null = null;
  const stopIdle = () => {
    if (idle !== null) clearTimeout(idle);
    idle = null;
  };
  const out = new Readable({
    read() {
      stopIdle();
      source.resume();
    },
    destroy(err, callback) {
      stopIdle();
      // The reader gave up early: release the connection instead of draining it.
      if (!source.destroyed) source.destroy();
      callback(err);
    },
  });
  const waitForReader = () => {
    if (idle !== null || idleMs <= 0) return;
    idle = setTimeout(() => out.destroy(new TimeoutError(`readPhoto: nobody read the download for ${idleMs} ms; it was stopped`)), idleMs);
    idle.unref();
  };
  source.on('data', (chunk: Buffer) => {
    if (out.push(chunk)) return;
    source.pause();
    waitForReader();
  });
  let ended = false;
  source.once('end', () => {
    ended = true;
    stopIdle();
    out.push(null);
  });
  source.once('error', (err) => {
    if (!out.destroyed) out.destroy(mapError(err) as Error);
  });
  source.once('close', () => {
    if (!ended && !out.destroyed) out.destroy(mapError(Object.assign(new Error('the download ended before its last byte'), { code: 'UND_ERR_SOCKET' })) as Error);
  });
  // Paused until the reader first asks: a body never read at all is held to the bound too.
  source.pause();
  waitForReader();
  return out;
}
