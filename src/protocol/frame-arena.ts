// Memory for outgoing frames, reused once the socket has written it. Every
// Buffer made for a frame is an ArrayBuffer outside V8's heap, and V8 answers
// tens of megabytes of those a second with full mark-compact collections
// (6-8 ms pauses, every ~100 ms at 60k answers/s). Frames cut from one block
// cost a small view each instead.

/** What the arena needs to know about its socket. */
export interface WrittenBytes {
  /** Bytes handed to write() and not yet written out (Node's writable.writableLength). */
  readonly writableLength: number;
}

const BLOCK_BYTES = 64 * 1024;
/** A frame larger than this gets its own buffer rather than a block's worth of room. */
const LARGEST_CUT = 16 * 1024;

export class FrameArena {
  #block = Buffer.allocUnsafe(BLOCK_BYTES);
  #used = 0;

  constructor(private readonly socket: WrittenBytes) {}

  /**
   * Room for one frame of n bytes. The caller must write it to the socket
   * before asking for more: a region is free again only once the socket has
   * nothing left to write, which is how the arena knows nobody reads it.
   */
  take(n: number): Buffer {
    if (n > LARGEST_CUT) return Buffer.allocUnsafe(n);
    if (this.#used > 0 && this.socket.writableLength === 0) this.#used = 0;
    if (this.#used + n > BLOCK_BYTES) {
      // The old block stays alive through the writes that still hold views of it.
      this.#block = Buffer.allocUnsafe(BLOCK_BYTES);
      this.#used = 0;
    }
    const region = this.#block.subarray(this.#used, this.#used + n);
    this.#used += n;
    return region;
  }
}
