// The writing side of one client connection: frames go out corked per tick,
// answer frames are built in reused memory (FrameArena), and a client that
// leaves too much unread has its calls paused until it reads.

import type * as net from 'node:net';
import { FrameArena } from '../../protocol/frame-arena';
import { ProtocolError, TooLargeError, toStorageError } from '../../protocol/errors';
import { encodeChunkFrameHead, encodeFrame } from '../../protocol/frame-codec';
import type { ErrorMessage, EndMessage, ResultMessage, ServerMessage } from '../../protocol/messages';
import { TickCork } from '../../protocol/tick-cork';
import type { Logger } from '../logger';
import { resultFrame } from './answer-frames';

/** Answer bytes a client may leave unread before the daemon stops reading its calls. */
const UNREAD_ANSWERS_PAUSE_BYTES = 1024 * 1024;

export class AnswerWriter {
  readonly #socket: net.Socket;
  readonly #isClosed: () => boolean;
  readonly #cork: TickCork;
  readonly #arena: FrameArena;
  readonly #takeFrame = (n: number) => this.#arena.take(n);
  #waitingForDrain = false;

  /** `isClosed` says when the connection is done: nothing is written after that. */
  constructor(socket: net.Socket, isClosed: () => boolean) {
    this.#socket = socket;
    this.#isClosed = isClosed;
    this.#cork = new TickCork(socket);
    this.#arena = new FrameArena(socket);
  }

  send(message: ServerMessage): void {
    this.write(encodeFrame(message));
  }

  /** Encodes and writes a call's last frame; an answer that cannot be encoded goes out as an error instead. */
  deliver(message: ResultMessage | ErrorMessage | EndMessage, logger: Logger, op: string): void {
    let frame: Buffer;
    try {
      frame = message.t === 'result' ? resultFrame(message.id, message.value, this.#takeFrame) : encodeFrame(message);
    } catch (err) {
      // A result too big for one frame (a huge search page) is the caller's to fix; anything else is ours.
      const error =
        err instanceof ProtocolError
          ? new TooLargeError(`the answer does not fit in one frame (${err.message}); ask for fewer items`)
          : toStorageError(err);
      if (error.code === 'INTERNAL') logger.error({ err, op }, 'could not encode an answer');
      frame = encodeFrame({ t: 'error', id: message.id, error: error.toWire() });
    }
    this.write(frame);
  }

  write(frame: Buffer): void {
    if (this.#isClosed() || !this.#socket.writable) return;
    this.#cork.hold();
    this.#pauseIfUnread(this.#socket.write(frame));
  }

  /**
   * A chunk frame of a download, its data written from where it lies rather
   * than copied into the frame. `written` runs once the socket is done with
   * `data`: written out, or dropped because the connection ended.
   */
  writeChunk(id: number, data: Uint8Array, written: () => void): void {
    if (this.#isClosed() || !this.#socket.writable) return void written();
    this.#cork.hold();
    this.#socket.write(encodeChunkFrameHead(id, data.length, this.#takeFrame));
    this.#pauseIfUnread(this.#socket.write(data, written));
  }

  #pauseIfUnread(belowHighWaterMark: boolean): void {
    // write() says false past the socket's 16 KiB high-water mark, which one
    // corked tick of answers to many calls in flight passes routinely; pausing
    // then stalled every busy connection. Only a client that leaves this much
    // unread is not reading: stop reading its calls until it does.
    if (belowHighWaterMark || this.#waitingForDrain || this.#socket.writableLength < UNREAD_ANSWERS_PAUSE_BYTES) return;
    this.#waitingForDrain = true;
    this.#socket.pause();
    this.#socket.once('drain', () => {
      this.#waitingForDrain = false;
      if (!this.#isClosed()) this.#socket.resume();
    });
  }
}
