// A download's bound on a reader that takes nothing, for both clients' bodies
// (the sidecar's chunk frames, the remote client's HTTP body): armed while
// bytes wait in a full Readable (or before a body is first read), stopped as
// soon as the reader asks for more or the body is over. Past `ms` the body is
// destroyed with TIMEOUT, so a download abandoned without being read or
// destroyed lets go of its connection, its slot and the daemon's blob stream
// instead of holding them, and the process, for ever.

import type { Readable } from 'node:stream';
import { TimeoutError } from './errors';

export class UnreadTimeout {
  readonly #ms: number;
  readonly #body: Readable;
  /** What the error message starts with (the call's name, or nothing). */
  readonly #prefix: string;
  #timer: NodeJS.Timeout | null = null;

  /** `ms` 0: no bound. */
  constructor(ms: number, body: Readable, prefix = '') {
    this.#ms = ms;
    this.#body = body;
    this.#prefix = prefix;
  }

  /** Starts counting, unless it already is (or there is no bound). */
  arm(): void {
    if (this.#timer !== null || this.#ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // Through destroy: the body's own destroy tells its source to stop.
      this.#body.destroy(new TimeoutError(`${this.#prefix}nobody read the download for ${this.#ms} ms; it was stopped`));
    }, this.#ms);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }
}
