// Sends a photo's bytes to a socket client as chunk frames, each against a
// credit the client granted: at most DOWNLOAD_WINDOW_CHUNKS chunks are ever
// queued for a reader (more credit than that is refused), so a slow reader
// holds the daemon to that much memory and the blob stream behind it simply
// waits. Chunks are written without a
// copy; once every chunk of a downloaded part is written, the part's memory
// goes back for the next part (PartReturns).

import type { Readable } from 'node:stream';
import { ClosedError } from '../../protocol/errors';
import { CreditGate } from '../../protocol/credit-gate';
import { CHUNK_BYTES, DOWNLOAD_WINDOW_CHUNKS } from '../../protocol/limits';
import { PartReturns } from '../blobs/part-returns';

export class DownloadSender {
  readonly #gate = new CreditGate();

  constructor() {
    this.#gate.add(DOWNLOAD_WINDOW_CHUNKS);
  }

  /**
   * Credit the client granted (a `credit` frame for this call). False, and
   * nothing granted, when it would leave more than the window unspent: a
   * client grants a chunk for each one it has read, so it can never be owed
   * more, and credit granted ahead would let a client that does not read make
   * the daemon queue the whole photo in the socket's memory.
   */
  grant(chunks: number): boolean {
    if (this.#gate.credit + chunks > DOWNLOAD_WINDOW_CHUNKS) return false;
    this.#gate.add(chunks);
    return true;
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
    const returns = new PartReturns();
    try {
      for await (const piece of body as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < piece.length; offset += CHUNK_BYTES) {
          await this.#gate.take();
          sendChunk(piece.subarray(offset, offset + CHUNK_BYTES), returns.writing(piece, offset + CHUNK_BYTES >= piece.length));
        }
      }
    } catch (err) {
      body.destroy();
      throw err;
    } finally {
      returns.end();
    }
    // Reached only when the body ended; a stop after the last chunk changes nothing.
    this.#gate.close(new ClosedError('the download has ended'));
  }
}
