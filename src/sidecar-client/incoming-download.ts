// The client's half of a download: chunk frames become a Readable, and credit
// goes back to the daemon only as the application reads, so a slow reader
// slows the daemon down instead of filling either side's memory.

import { Readable } from 'node:stream';
import { TimeoutError } from '../protocol/errors';

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
  /** How long the daemon may wait on a reader that takes nothing (0: for ever). */
  readonly #idleMs: number;
  #idle: NodeJS.Timeout | null = null;

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
    this.#idleMs = idleMs;
    this.body = new Readable({
      highWaterMark: READ_AHEAD_BYTES,
      read: () => {
        this.#stopIdle();
        if (this.#owed === 0) return;
        const chunks = this.#owed;
        this.#owed = 0;
        grant(chunks);
      },
      destroy: (err, callback) => {
        this.#stopIdle();
        if (!this.#finished) {
          this.#finished = true;
          cancel();
        }
        this.#detach?.();
        callback(err);
      },
    });
    this.#grant = grant;
  }

  push(data: Uint8Array): void {
    if (this.#finished) return;
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.body.push(buffer)) {
      this.#grant(1);
      return;
    }
    this.#owed += 1;
    if (this.#idle === null && this.#idleMs > 0) {
      this.#idle = setTimeout(() => {
        this.#idle = null;
        // Through destroy, not fail(): the daemon is told to stop.
        this.body.destroy(new TimeoutError(`nobody read the download for ${this.#idleMs} ms; it was stopped`));
      }, this.#idleMs);
      this.#idle.unref();
    }
  }

  #stopIdle(): void {
    if (this.#idle === null) return;
    clearTimeout(this.#idle);
    this.#idle = null;
  }

  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopIdle();
    this.#detach?.();
    this.body.push(null);
  }

  fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.body.destroy(err);
  }
}
