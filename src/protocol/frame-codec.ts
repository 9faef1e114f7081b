// Length-prefixed msgpack frames: a 4-byte big-endian payload length, then one
// msgpack value. Both the daemon and the sidecar client use exactly this code,
// so the two ends cannot drift apart.

import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from './errors';
import { MAX_FRAME_BYTES } from './limits';
import { NOT_HANDLED, readMessage } from './msgpack-reader';

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
  checkPayload(payload.length);
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, PREFIX_BYTES);
  return frame;
}

/** One value's msgpack bytes (a copy), for a sender that puts the same value in many frames. */
export function encodeValue(value: unknown): Buffer {
  const bytes = packr.pack(value);
  checkPayload(bytes.length);
  return Buffer.from(bytes);
}

// `{t:'result', id, value}` as msgpackr writes it: a map16 of 3 entries, keys in that order.
const RESULT_HEAD = Buffer.from([0xde, 0x00, 0x03, 0xa1, 0x74, 0xa6, ...Buffer.from('result'), 0xa2, 0x69, 0x64]);
const VALUE_KEY = Buffer.from([0xa5, ...Buffer.from('value')]);

/**
 * The frame of `{ t: 'result', id, value }` around value bytes from
 * encodeValue: byte for byte what encodeFrame makes of the same message
 * (tested), without encoding the value again. `alloc` gives the frame's
 * memory (a FrameArena's take, say).
 */
export function encodeResultFrame(id: number, value: Buffer, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const idBytes = idBytesOf(id);
  const length = RESULT_HEAD.length + idBytes + VALUE_KEY.length + value.length;
  checkPayload(length);
  const frame = alloc(PREFIX_BYTES + length);
  frame.writeUInt32BE(length, 0);
  let at = PREFIX_BYTES + RESULT_HEAD.copy(frame, PREFIX_BYTES);
  at = writeId(frame, at, id, idBytes);
  at += VALUE_KEY.copy(frame, at);
  value.copy(frame, at);
  return frame;
}

// `{t:'chunk', id, data}` as msgpackr writes it, up to the id's value.
const CHUNK_HEAD = Buffer.from([0xde, 0x00, 0x03, 0xa1, 0x74, 0xa5, ...Buffer.from('chunk'), 0xa2, 0x69, 0x64]);
const DATA_KEY = Buffer.from([0xa4, ...Buffer.from('data')]);

/**
 * Everything of the frame of `{ t: 'chunk', id, data }` that comes before the
 * data's bytes: written to a socket just ahead of `data` itself, the two make
 * byte for byte what encodeFrame makes of the message (tested), without
 * copying the data.
 */
export function encodeChunkFrameHead(id: number, dataBytes: number, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const idBytes = idBytesOf(id);
  const binHead = dataBytes < 0x100 ? 2 : dataBytes < 0x10000 ? 3 : 5;
  const headBytes = CHUNK_HEAD.length + idBytes + DATA_KEY.length + binHead;
  checkPayload(headBytes + dataBytes);
  const head = alloc(PREFIX_BYTES + headBytes);
  head.writeUInt32BE(headBytes + dataBytes, 0);
  let at = PREFIX_BYTES + CHUNK_HEAD.copy(head, PREFIX_BYTES);
  at = writeId(head, at, id, idBytes);
  at += DATA_KEY.copy(head, at);
  if (binHead === 2) head.writeUInt8(dataBytes, head.writeUInt8(0xc4, at));
  else if (binHead === 3) head.writeUInt16BE(dataBytes, head.writeUInt8(0xc5, at));
  else head.writeUInt32BE(dataBytes, head.writeUInt8(0xc6, at));
  return head;
}

/** Bytes msgpackr takes for a call id; beyond 32 bits it writes a float64, exact for a safe integer. */
function idBytesOf(id: number): number {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`call id must be a non-negative safe integer, got ${id}`);
  return id < 0x80 ? 1 : id < 0x100 ? 2 : id < 0x10000 ? 3 : id < 0x100000000 ? 5 : 9;
}

function writeId(frame: Buffer, at: number, id: number, idBytes: number): number {
  if (idBytes === 1) {
    frame[at] = id;
    return at + 1;
  }
  if (idBytes === 2) return frame.writeUInt8(id, frame.writeUInt8(0xcc, at));
  if (idBytes === 3) return frame.writeUInt16BE(id, frame.writeUInt8(0xcd, at));
  if (idBytes === 5) return frame.writeUInt32BE(id, frame.writeUInt8(0xce, at));
  return frame.writeDoubleBE(id, frame.writeUInt8(0xcb, at));
}

function checkPayload(bytes: number): void {
  if (bytes > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame payload of ${bytes} bytes exceeds the limit of ${MAX_FRAME_BYTES} bytes`, {
      details: { bytes, limit: MAX_FRAME_BYTES },
    });
  }
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
export interface FrameDecoderOptions {
  /**
   * Memory of n bytes for a frame whose bytes arrived in several reads and
   * must be joined; Buffer.allocUnsafe when absent. A receiver that reuses
   * memory for its large frames passes its own.
   */
  joinInto?: (n: number) => Buffer;
}

export class FrameDecoder {
  readonly #joinInto: (n: number) => Buffer;
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
  /** The limit of the next frame (limitNextFrame narrows it for one frame), and what its refusal adds. */
  #limit = MAX_FRAME_BYTES;
  #limitNote = '';

  constructor(options: FrameDecoderOptions = {}) {
    this.#joinInto = options.joinInto ?? Buffer.allocUnsafe;
  }

  /**
   * Accepts at most `maxFrameBytes` for the next frame only; `note` ends the
   * refusal's message. The daemon reads a connection's first frame, which
   * must be its hello, so: until then the peer is nobody, and may not make it
   * hold a full frame. Frames pipelined after it have the usual limit.
   */
  limitNextFrame(maxFrameBytes: number, note = ''): void {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be an integer from 1 to ${MAX_FRAME_BYTES}, got ${maxFrameBytes}`);
    }
    this.#limit = maxFrameBytes;
    this.#limitNote = note;
  }

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
        if (length > this.#limit) {
          return this.#fail(`frame length ${length} exceeds the limit of ${this.#limit} bytes${this.#limitNote}`);
        }
        this.#limit = MAX_FRAME_BYTES;
        if (length === 0) return this.#fail('empty frame: a frame carries exactly one msgpack value');
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      const bytes = this.#expected;
      const payload = this.#take(bytes);
      this.#expected = -1;
      let message: unknown;
      try {
        message = readMessage(payload);
        if (message === NOT_HANDLED) message = unpackr.unpack(payload);
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
      out = this.#joinInto(n);
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
