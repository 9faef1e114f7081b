// The bytes of a readPhoto answer as the application's Readable. undici's
// body already pauses the socket when nobody reads; this shim only turns its
// failures (socket dropped, stalled) into the storaged error classes, without
// copying a byte.

import { Readable } from 'node:stream';
/** `mapError` gives the reader's error for the source's: a StorageError, or the caller's own abort reason. */
export function downloadBody(source: Readable, mapError: (err: unknown) => unknown): Readable {
  const out = new Readable({
    read() {
      source.resume();
    },
    destroy(err, callback) {
      // The reader gave up early: release the connection instead of draining it.
      if (!source.destroyed) source.destroy();
      callback(err);
    },
  });
  source.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) source.pause();
  });
  let ended = false;
  source.once('end', () => {
    ended = true;
    out.push(null);
  });
  source.once('error', (err) => {
    if (!out.destroyed) out.destroy(mapError(err) as Error);
  });
  source.once('close', () => {
    if (!ended && !out.destroyed) out.destroy(mapError(Object.assign(new Error('the download ended before its last byte'), { code: 'UND_ERR_SOCKET' })) as Error);
  });
  source.pause();
  return out;
}
