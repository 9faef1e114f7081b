// Cuts an upload body into chunk-sized pieces. A stream is pulled only when the
// sender asks for the next chunk (which it does only with credit in hand), so
// a large file is never read faster than the daemon takes it.

import { ValidationError } from '../protocol/errors';

export type BodySource = Uint8Array | AsyncIterable<unknown>;

function asBytes(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  throw new ValidationError(`the body stream yielded ${piece === null ? 'null' : typeof piece}; expected bytes`);
}

/** `onPiece` is called as each piece comes from the source: progress, however small the pieces. */
export async function* bodyChunks(source: BodySource, chunkBytes: number, onPiece?: () => void): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    // Views, not copies: the frame encoder copies each chunk once anyway.
    for (let offset = 0; offset < source.length; offset += chunkBytes) {
      yield source.subarray(offset, offset + chunkBytes);
    }
    return;
  }
  // Small stream pieces are gathered into full chunks: fewer frames, fewer credits.
  let parts: Uint8Array[] = [];
  let size = 0;
  for await (const piece of source) {
    onPiece?.();
    let bytes = asBytes(piece);
    while (bytes.length > 0) {
      const take = Math.min(chunkBytes - size, bytes.length);
      parts.push(bytes.subarray(0, take));
      size += take;
      bytes = bytes.subarray(take);
      if (size === chunkBytes) {
        yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
        parts = [];
        size = 0;
      }
    }
  }
  if (size > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
