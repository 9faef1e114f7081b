// The client's half of a download: chunk frames become a Readable, and credit
// goes back to the daemon only as the application reads, so a slow reader
// slows the daemon down instead of filling either side's memory.

import { Readable } from 'node:stream';
import { TimeoutError } from '../protocol/errors';
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
  readonly #idleMs: number;
  /** Runs while the daemon holds credit (nothing owed): it owes bytes, and its silence is bounded by idleMs. */
  #silence: NodeJS.Timeout | null = null;

  /**
   * `grant(n)` tells the daemon it may send n more chunks; `cancel()` tells it
   * to stop (the reader destroyed the stream before its end). `detach` stops
   * listening to the call's signal: until the download is over, an abort
   * fails it (fail()), as it would have failed the call before the head.
   * `idleMs` (the call's timeout) bounds a reader's silence as the call's
   * timeout bounds the daemon's: a download with bytes waiting that nobody
   * reads for that long (abandoned, neither read nor destroyed) fails with
   * TIMEOUT and stops the daemon, instead of holding its slot, its blob
   * stream and the process for ever. The same bound holds the daemon: while
   * it has credit and sends nothing for `idleMs` (hung, frozen, its blob
   * stream stalled), the download fails with TIMEOUT and the daemon is told
   * to stop, as the remote client's body timeout does over HTTP.
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
        this.#awaitDaemon();
      },
      destroy: (err, callback) => {
        this.#unread.stop();
        this.#daemonHeard(false);
        if (!this.#finished) {
          this.#finished = true;
          cancel();
        }
        this.#detach?.();
        callback(err);
      },
    });
    this.#grant = grant;
    this.#idleMs = idleMs;
    this.#unread = new UnreadTimeout(idleMs, this.body);
    // The head came with the window's credit: the first bytes are the daemon's to send.
    this.#awaitDaemon();
  }

  /** Starts, or starts over, the bound on the daemon's silence. */
  #awaitDaemon(): void {
    if (this.#finished || this.#idleMs <= 0) return;
    if (this.#silence !== null) {
      this.#silence.refresh();
      return;
    }
    this.#silence = setTimeout(() => {
      this.#silence = null;
      // Through destroy: the daemon is told to stop, and the slot is given back.
      this.body.destroy(new TimeoutError(`storaged sent nothing for ${this.#idleMs} ms during the download; it was stopped (retry it)`));
    }, this.#idleMs);
    this.#silence.unref();
  }

  /** Bytes came (`more`: and the daemon still holds credit, so more are due), or the download is over (false). */
  #daemonHeard(more: boolean): void {
    if (more) return this.#awaitDaemon();
    if (this.#silence === null) return;
    clearTimeout(this.#silence);
    this.#silence = null;
  }

  push(data: Uint8Array): void {
    if (this.#finished) return;
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.body.push(buffer)) {
      this.#grant(1);
      this.#daemonHeard(true);
      return;
    }
    // The reader holds the credit now: its silence is the unread bound's, not the daemon's.
    this.#daemonHeard(false);
    this.#owed += 1;
    // Through destroy, not fail(): the daemon is told to stop.
    this.#unread.arm();
  }

  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unread.stop();
    this.#daemonHeard(false);
    this.#detach?.();
    this.body.push(null);
  }

  fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.body.destroy(err);
  }
}
