// A byte range of an open file as the body of an HTTP request, in chunks that
// are reused once the request has written them (see spare-chunks.ts), so a
// part upload allocates a few chunks instead of one per megabyte.

import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { cancelledError, isCancelled } from '../s3/transfer-cancel';
import type { OpenRange } from './file-range';
import { CHUNK_BYTES, returnChunks, takeChunk } from './spare-chunks';
import type { CancelFlag } from './task-types';

/** What the reader is piped into; an http.ClientRequest counts its unsent bytes, socket included. */
interface Sink {
  readonly writableLength: number;
}

/**
 * It owns the fd: it closes it once ended or destroyed, after any read in
 * progress has returned, so the number is never reused under a pending read.
 */
export class RangeReader extends Readable {
  readonly #fd: number;
  readonly #end: number;
  readonly #cancel: CancelFlag | undefined;
  #pos: number;
  #pending: (() => void) | null = null;
  #reading = false;
  #sink: Sink | null = null;
  /** Chunks pushed that the stream or the sink may still hold. */
  #lent: Buffer[] = [];

  constructor(range: OpenRange, cancel?: CancelFlag) {
    super({ highWaterMark: CHUNK_BYTES });
    this.#fd = range.fd;
    this.#pos = range.start;
    this.#end = range.end;
    this.#cancel = cancel;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.#sink = destination as unknown as Sink;
    return super.pipe(destination, options);
  }

  /**
   * Once nothing pushed is buffered here and the sink has nothing left to send,
   * every lent chunk has reached the kernel: a socket drops its reference to a
   * buffer when the write completes, and the request's writableLength counts
   * both its own queue and the socket's. Without a sink (read by other code),
   * chunks are never taken back.
   */
  #reclaim(): void {
    if (this.#lent.length === 0 || this.#sink === null) return;
    if (this.readableLength !== 0 || this.#sink.writableLength !== 0) return;
    returnChunks(this.#lent);
    this.#lent = [];
  }

  override _read(): void {
    if (isCancelled(this.#cancel)) {
      this.destroy(cancelledError());
      return;
    }
    const left = this.#end - this.#pos + 1;
    if (left <= 0) {
      this.push(null);
      return;
    }
    this.#reclaim();
    const chunk = takeChunk();
    this.#lent.push(chunk);
    this.#reading = true;
    fs.read(this.#fd, chunk, 0, Math.min(CHUNK_BYTES, left), this.#pos, (err, got) => {
      this.#reading = false;
      const settle = this.#pending;
      this.#pending = null;
      if (settle !== null) return settle();
      if (err) return this.destroy(err);
      if (got === 0) return this.destroy(new Error(`the file ended at byte ${this.#pos}, before the range's end ${this.#end}`));
      this.#pos += got;
      this.push(got === CHUNK_BYTES ? chunk : chunk.subarray(0, got));
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // After a clean end the request has sent everything; after a failure the
    // socket may still hold chunks, which are then left to the GC.
    if (err === null) this.#reclaim();
    const close = () => fs.close(this.#fd, (closeErr) => callback(err ?? closeErr));
    if (this.#reading) this.#pending = close;
    else close();
  }
}
