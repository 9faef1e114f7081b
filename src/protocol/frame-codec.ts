// Length-prefixed msgpack frames: a 4-byte big-endian payload length, then one
// msgpack value. Both the daemon and the sidecar client use exactly this code,
// so the two ends cannot drift apart.

import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from './errors';
import { MAX_FRAME_BYTES } from './limits';

const PREFIX_BYTES = 4;

// Records (msgpackr's shared-structure extension) would make every peer depend
// on msgpackr; plain maps keep the wire readable by any msgpack library.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/**
 * Encodes one message as a frame. Throws ProtocolError when the payload is
 * larger than MAX_FRAME_BYTES, because the peer would refuse it anyway.
 */
export function encodeFrame(message: unknown): Buffer {
  // Packr reuses one internal buffer across calls, so its output must be copied
  // before the next pack; copying into the framed buffer does that in one go.
  const payload = packr.pack(message);
  if (payload.length > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame payload of ${payload.length} bytes exceeds the limit of ${MAX_FRAME_BYTES} bytes`, {
      details: { bytes: payload.length, limit: MAX_FRAME_BYTES },
    });
  }
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, PREFIX_BYTES);
  return frame;
}

export interface DecodedFrame {
  message: unknown;
  /** Payload bytes of the frame (without the length prefix). */
  bytes: number;
}

/**
 * Turns a byte stream back into messages. Bytes of an incomplete frame are kept
 * as a list of chunks and joined once, when the frame is complete, so a large
 * frame arriving in many small reads costs O(n), not O(n²).
 *
 * After it has thrown, the decoder is out of step with the stream for good;
 * the connection must be closed.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  /** Index of the first chunk not fully consumed; an index, not shift(), keeps 1-byte reads linear. */
  #head = 0;
  /** Bytes in #chunks not yet consumed. */
  #buffered = 0;
  /** How much of #chunks[#head] is already consumed. */
  #offset = 0;
  /** Payload length of the frame being collected, or -1 while reading a prefix. */
  #expected = -1;
  #failed: ProtocolError | null = null;

  /** Feeds bytes; returns every message completed by them, in order. */
  push(chunk: Buffer): unknown[] {
    return this.pushFrames(chunk).map((frame) => frame.message);
  }

  /** Like push, but also says how large each frame was (the daemon limits call headers). */
  pushFrames(chunk: Buffer): DecodedFrame[] {
    if (this.#failed) throw this.#failed;
    // Drop consumed chunks once they are at least half the list: amortised O(1),
    // and no reference to already-decoded bytes outlives the next read.
    if (this.#head > 0 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: DecodedFrame[] = [];
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < PREFIX_BYTES) break;
        const length = this.#take(PREFIX_BYTES).readUInt32BE(0);
        // Checked before a single payload byte is buffered, so a hostile prefix costs nothing.
        if (length > MAX_FRAME_BYTES) {
          return this.#fail(`frame length ${length} exceeds the limit of ${MAX_FRAME_BYTES} bytes`);
        }
        if (length === 0) return this.#fail('empty frame: a frame carries exactly one msgpack value');
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      const bytes = this.#expected;
      const payload = this.#take(bytes);
      this.#expected = -1;
      let message: unknown;
      try {
        message = unpackr.unpack(payload);
      } catch (err) {
        return this.#fail(`frame payload is not valid msgpack: ${(err as Error).message}`, err);
      }
      frames.push({ message, bytes });
    }
    return frames;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  #fail(message: string, cause?: unknown): never {
    this.#failed = new ProtocolError(message, cause === undefined ? {} : { cause });
    this.#chunks = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#offset = 0;
    throw this.#failed;
  }

  /** Removes n buffered bytes; copies only when they span several chunks. */
  #take(n: number): Buffer {
    const first = this.#chunks[this.#head]!;
    let out: Buffer;
    if (first.length - this.#offset >= n) {
      out = first.subarray(this.#offset, this.#offset + n);
      this.#advance(first, n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const head = this.#chunks[this.#head]!;
        const used = Math.min(head.length - this.#offset, n - filled);
        head.copy(out, filled, this.#offset, this.#offset + used);
        filled += used;
        this.#advance(head, used);
      }
    }
    this.#buffered -= n;
    return out;
  }

  #advance(head: Buffer, used: number): void {
    this.#offset += used;
    if (this.#offset < head.length) return;
    this.#offset = 0;
    this.#head += 1;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
  }
}
