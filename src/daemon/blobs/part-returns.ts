// Giving downloaded parts' memory back (read-in-parts.ts) from the readers
// that consume them. A part arrives as consecutive pieces that view the same
// slot; the slot can go back once no piece of it is read or written any
// more. Both doors (the socket's download sender, the gateway's content
// route) write pieces with a callback per write and hand the slot back from
// the last one; a reader that consumes each piece before asking for the next
// (a hash, a file copy) iterates through returningParts instead. A slot that
// is dropped instead becomes garbage, which V8 lets pile up (issue 13: 16
// gateway downloads of 200 KB peaked at ~700 MiB that way).

import type { Readable } from 'node:stream';
import { endsItsPart, givePartBack } from './read-in-parts';

/** The memory behind consecutive pieces of a body, and its writes not yet done. */
interface PieceMemory {
  readonly view: Uint8Array;
  unwritten: number;
  /** No later piece comes from this memory. */
  done: boolean;
  /** Given back already: the slot may be lent to another part by now, so never twice. */
  returned: boolean;
}

function release(memory: PieceMemory): void {
  if (!memory.done || memory.unwritten !== 0 || memory.returned) return;
  memory.returned = true;
  givePartBack(memory.view);
}

/**
 * Tracks the pieces of one body in the order they are written: `writing`
 * for each write, whose callback is called once the transport is done with
 * those bytes; `end` once the body is over (ended, failed or abandoned).
 */
export class PartReturns {
  #memory: PieceMemory | null = null;

  /**
   * A write of (part of) `piece` begins; call the returned function once it
   * is written (or has failed). `finishesPiece`: no later write takes bytes
   * of `piece`, so if it ends its part, the part goes back once its writes
   * are done, without waiting for the next part (which may be waiting for
   * this one's memory).
   */
  writing(piece: Uint8Array, finishesPiece = true): () => void {
    // A part that ended may be followed by one in the same slot (given back, then taken again): new memory all the same.
    if (this.#memory === null || this.#memory.done || this.#memory.view.buffer !== piece.buffer) {
      this.#close();
      this.#memory = { view: piece, unwritten: 0, done: false, returned: false };
    }
    const memory = this.#memory;
    memory.unwritten += 1;
    if (finishesPiece && endsItsPart(piece)) memory.done = true;
    let called = false;
    return () => {
      if (called) return;
      called = true;
      memory.unwritten -= 1;
      release(memory);
    };
  }

  /** No more pieces: the last memory goes back once its writes are done. */
  end(): void {
    this.#close();
  }

  #close(): void {
    if (this.#memory === null) return;
    this.#memory.done = true;
    release(this.#memory);
    this.#memory = null;
  }
}

/**
 * The body's pieces, each part's memory given back once the reader asks for
 * a piece of another part (or stops): for readers that are done with a piece
 * by the time they ask for the next one.
 */
export async function* returningParts(body: Readable): AsyncGenerator<Buffer> {
  const returns = new PartReturns();
  try {
    for await (const piece of body as AsyncIterable<Buffer>) {
      const done = returns.writing(piece);
      try {
        yield piece;
      } finally {
        // The reader asked for more (or stopped): it is done with this piece, before the next part is pulled.
        done();
      }
    }
  } finally {
    returns.end();
  }
}

/**
 * A small body read whole (a backup's manifest, an update record): each piece
 * copied out so that its part's memory goes back for the next read; null as
 * soon as it passes `maxBytes`, leaving the rest unread.
 */
export async function readWhole(body: Readable, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const piece of returningParts(body)) {
    bytes += piece.length;
    if (bytes > maxBytes) return null;
    chunks.push(Buffer.from(piece));
  }
  return Buffer.concat(chunks);
}
