// Sends a photo's bytes to a socket client as chunk frames, each against a
// credit the client granted: at most DOWNLOAD_WINDOW_CHUNKS chunks are ever
// queued for a reader, so a slow reader holds the daemon to that much memory
// and the blob stream behind it simply waits. Chunks are written without a
// copy; once every chunk of a downloaded part is written, the part's memory
// goes back for the next part (givePartBack).

import type { Readable } from 'node:stream';
import { ClosedError } from '../../protocol/errors';
import { CreditGate } from '../../protocol/credit-gate';
import { CHUNK_BYTES, DOWNLOAD_WINDOW_CHUNKS } from '../../protocol/limits';
import { givePartBack } from '../blobs/read-in-parts';

/** The memory behind consecutive pieces of a body, and its chunks the socket has not written yet. */
interface PieceMemory {
  readonly view: Uint8Array;
  unwritten: number;
  /** No later piece comes from this memory. */
  done: boolean;
}

function release(memory: PieceMemory): void {
  if (memory.done && memory.unwritten === 0) givePartBack(memory.view);
}

/** No later piece comes from this memory: it goes back once its last chunk is written. */
function lastPieceSent(memory: PieceMemory | null): void {
  if (memory === null) return;
  memory.done = true;
  release(memory);
}

export class DownloadSender {
  readonly #gate = new CreditGate();

  constructor() {
    this.#gate.add(DOWNLOAD_WINDOW_CHUNKS);
  }

  /** Credit the client granted (a `credit` frame for this call). */
  grant(chunks: number): void {
    this.#gate.add(chunks);
  }

  /** The call is over (aborted, connection gone): the send loop stops at its next chunk. */
  stop(reason: Error): void {
    this.#gate.close(reason);
  }

  /**
   * Sends every byte of `body` through `sendChunk`, re-cut into frames of at
   * most CHUNK_BYTES; `sendChunk` calls `written` once the socket is done
   * with the data. Rejects when stopped or when the body fails; the body is
   * destroyed either way unless it ended.
   */
  async send(body: Readable, sendChunk: (data: Uint8Array, written: () => void) => void): Promise<void> {
    let memory: PieceMemory | null = null;
    try {
      for await (const piece of body as AsyncIterable<Buffer>) {
        if (memory === null || memory.view.buffer !== piece.buffer) {
          lastPieceSent(memory);
          memory = { view: piece, unwritten: 0, done: false };
        }
        const current: PieceMemory = memory;
        for (let offset = 0; offset < piece.length; offset += CHUNK_BYTES) {
          await this.#gate.take();
          current.unwritten += 1;
          sendChunk(piece.subarray(offset, offset + CHUNK_BYTES), () => {
            current.unwritten -= 1;
            release(current);
          });
        }
      }
    } catch (err) {
      body.destroy();
      throw err;
    } finally {
      lastPieceSent(memory);
    }
    // Reached only when the body ended; a stop after the last chunk changes nothing.
    this.#gate.close(new ClosedError('the download has ended'));
  }
}
