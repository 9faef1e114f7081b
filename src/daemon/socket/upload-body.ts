// The body of one storePhoto call, as the coordinator sees it: an async
// iterable of chunks that the connection feeds from `chunk` frames. The client
// may only send chunks it was granted credit for, and a credit is granted each
// time the coordinator takes a chunk, so at most UPLOAD_WINDOW_CHUNKS chunks
// ever wait here, however fast the client is.
//
// The first window is granted only when the coordinator starts reading, after
// the store took its share of the memory budget: granted with the call, it let
// every store waiting for memory hold a window of frames the budget never
// counted (issue 13: 2 MiB per waiting store, up to 1024 waiters).

import { TooLargeError } from '../../protocol/errors';
import { UPLOAD_WINDOW_CHUNKS } from '../../protocol/limits';

export type PushOutcome = 'accepted' | 'over-credit' | 'after-end' | 'too-large' | 'discarded';

export class UploadBody implements AsyncIterable<Uint8Array> {
  readonly #maxBytes: number;
  readonly #grant: (chunks: number) => void;
  readonly #queue: Uint8Array[] = [];
  /** Nothing until the reader starts: see the head comment. */
  #granted = 0;
  #received = 0;
  #bytes = 0;
  #ended = false;
  /** Set once the body can never yield again (failed, or the reader stopped). */
  #failure: Error | null = null;
  #readerGone = false;
  #iterating = false;
  #waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: Error) => void } | null = null;

  /**
   * `grant` sends the client credit for that many more chunks: the window
   * when the reader starts, then one each time it takes a chunk.
   */
  constructor(maxBytes: number, grant: (chunks: number) => void) {
    this.#maxBytes = maxBytes;
    this.#grant = grant;
  }

  /** Why the body failed (TooLargeError, ClosedError…), if it did. */
  get failure(): Error | null {
    return this.#failure;
  }

  get bytesReceived(): number {
    return this.#bytes;
  }

  /** True while the body still wants chunks (not ended, failed or abandoned). */
  get open(): boolean {
    return !this.#ended && this.#failure === null && !this.#readerGone;
  }

  push(data: Uint8Array): PushOutcome {
    if (this.#received >= this.#granted) return 'over-credit';
    this.#received += 1;
    if (this.#ended) return 'after-end';
    // Failed or abandoned: the client learns from the call's answer and stops; until then its chunks are dropped.
    if (!this.open) return 'discarded';
    this.#bytes += data.length;
    if (this.#bytes > this.#maxBytes) {
      this.fail(new TooLargeError(`body exceeds the limit of ${this.#maxBytes} bytes`, { details: { limit: this.#maxBytes } }));
      return 'too-large';
    }
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      this.#granted += 1;
      this.#grant(1);
      waiter.resolve({ value: data, done: false });
    } else {
      this.#queue.push(data);
    }
    return 'accepted';
  }

  end(): void {
    if (!this.open) return;
    this.#ended = true;
    if (this.#waiter && this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  /** Makes the reader's next (or pending) step throw `err`; queued chunks are dropped. */
  fail(err: Error): void {
    if (this.#failure !== null || this.#readerGone) return;
    this.#failure = err;
    this.#queue.length = 0;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.reject(err);
    }
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const data = this.#queue.shift();
    if (data !== undefined) {
      this.#granted += 1;
      this.#grant(1);
      return Promise.resolve({ value: data, done: false });
    }
    if (this.#ended || this.#readerGone) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new Error('UploadBody does not support concurrent next() calls'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // One reader only: a second one would silently split the bytes between them.
    if (this.#iterating) throw new Error('an upload body can be read only once');
    this.#iterating = true;
    // The reader starts: the body is wanted now, and its memory is the reader's to account for.
    if (this.open) {
      this.#granted += UPLOAD_WINDOW_CHUNKS;
      this.#grant(UPLOAD_WINDOW_CHUNKS);
    }
    return {
      next: () => this.#next(),
      return: () => {
        // The reader stopped early (e.g. `break`): later chunks are dropped, not queued.
        this.#readerGone = true;
        this.#queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
