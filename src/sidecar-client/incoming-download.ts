// The client's half of a download: chunk frames become a Readable, and credit
// goes back to the daemon only as the application reads, so a slow reader
// slows the daemon down instead of filling either side's memory.

import { Readable } from 'node:stream';
import { UnreadTimeout } from '../protocol/unread-timeout';

/** Bytes buffered in the Readable before the daemon is asked to wait. */
const READ_AHEAD_BYTES = 1024 * 1024;

export class IncomingDownload {
  readonly body: Readable;
  readonly #grant: (chunks: number) => void;
  /** Stops listening to the call's signal, once the download is over. */
  readonly #detach: (() => void) | null;
  /** Chunks taken by the Readable but not yet credited back, because its buffer was full. */
  #owed = 0;
  #finished = false;
  /** How long the daemon may wait on a reader that takes nothing. */
  readonly #unread: UnreadTimeout;

  /**
   * `grant(n)` tells the daemon it may send n more chunks; `cancel()` tells it
   * to stop (the reader destroyed the stream before its end). `detach` stops
   * listening to the call's signal: until the download is over, an abort
   * fails it (fail()), as it would have failed the call before the head.
   * `idleMs` (the call's timeout) bounds a reader's silence as the call's
   * timeout bounds the daemon's: a download with bytes waiting that nobody
   * reads for that long (abandoned, neither read nor destroyed) fails with
   * TIMEOUT and stops the daemon, instead of holding its slot, its blob
   * stream and the process for ever.
   */
  constructor(grant: (chunks: number) => void, cancel: () => void, detach: (() => void) | null = null, idleMs = 0) {
    this.#detach = detach;
    this.body = new Readable({
      highWaterMark: READ_AHEAD_BYTES,
      read: () => {
        this.#unread.stop();
        if (this.#owed === 0) return;
        const chunks = this.#owed;
        this.#owed = 0;
        grant(chunks);
      },
      destroy: (err, callback) => {
        this.#unread.stop();
        if (!this.#finished) {
          this.#finished = true;
          cancel();
        }
        this.#detach?.();
        callback(err);
      },
    });
    this.#grant = grant;
    this.#unread = new UnreadTimeout(idleMs, this.body);
  }

  push(data: Uint8Array): void {
    if (this.#finished) return;
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.body.push(buffer)) {
      this.#grant(1);
      return;
    }
    this.#owed += 1;
    // Through destroy, not fail(): the daemon is told to stop.
    this.#unread.arm();
  }

  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unread.stop();
    this.#detach?.();
    this.body.push(null);
  }

  fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.body.destroy(err);
  }
}
