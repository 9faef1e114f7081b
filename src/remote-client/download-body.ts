// The bytes of a readPhoto answer as the application's Readable. undici's
// body already pauses the socket when nobody reads; this shim only turns its
// failures (socket dropped, stalled) into the storaged error classes, without
// copying a byte.

import { Readable } from 'node:stream';
import { UnreadTimeout } from '../protocol/unread-timeout';

/**
 * `mapError` gives the reader's error for the source's: a StorageError, or
 * the caller's own abort reason. `idleMs` bounds the reader's silence as the sidecar client does (its call
 * timeout): with bytes waiting and nobody reading for that long (a download
 * abandoned, neither read nor destroyed), the body fails with TIMEOUT and the
 * connection is let go. undici's bodyTimeout does not cover this: it stops
 * counting while the body is paused.
 */
export function downloadBody(source: Readable, mapError: (err: unknown) => unknown, idleMs = 0): Readable {
  const out = new Readable({
    read() {
      unread.stop();
      source.resume();
    },
    destroy(err, callback) {
      unread.stop();
      // The reader gave up early: release the connection instead of draining it.
      if (!source.destroyed) source.destroy();
      callback(err);
    },
  });
  const unread = new UnreadTimeout(idleMs, out, 'readPhoto: ');
  source.on('data', (chunk: Buffer) => {
    if (out.push(chunk)) return;
    source.pause();
    unread.arm();
  });
  let ended = false;
  source.once('end', () => {
    ended = true;
    unread.stop();
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
  unread.arm();
  return out;
}
