// A body in chunked transfer coding (RFC 9112, 7.1), decoded as a socket
// delivers it, for the raw reader (response-reader.ts): MinIO behind a proxy
// or load balancer answers this way. Chunk data is copied straight to where
// the caller wants it, the size lines are read byte by byte into a number,
// so decoding allocates nothing per read. Chunk extensions and trailer
// fields are read and dropped, within bounds; anything malformed is an error,
// after which the connection must not be used again.

import { badResponse } from './s3-error';

/** Hex digits of a chunk size at most: 2^52, far past any part. */
const MAX_SIZE_DIGITS = 13;
/** Bytes of one chunk's extensions, and of all trailer fields together. */
export const MAX_CHUNK_EXTENSION_BYTES = 4096;
export const MAX_TRAILER_BYTES = 16 * 1024;

const CR = 0x0d;
const LF = 0x0a;

const enum State {
  Size,
  SizeSpace,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

export class ChunkedDecoder {
  #state = State.Size;
  #into: Uint8Array = new Uint8Array(0);
  #length = 0;
  #size = 0;
  #digits = 0;
  /** Data bytes of the current chunk still to come. */
  #left = 0;
  #extension = 0;
  #trailer = 0;

  /** Starts a body whose data goes to `into`; a body longer than it is refused. */
  reset(into: Uint8Array): void {
    this.#state = State.Size;
    this.#into = into;
    this.#length = 0;
    this.#size = 0;
    this.#digits = 0;
    this.#left = 0;
    this.#extension = 0;
    this.#trailer = 0;
  }

  /** Data bytes decoded so far. */
  get length(): number {
    return this.#length;
  }

  /** Whether the last chunk and the trailer section's blank line have been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Decodes bytes[start, end); returns where it stopped: `end`, or just past the body once done. */
  push(bytes: Uint8Array, start: number, end: number): number {
    let at = start;
    while (at < end && this.#state !== State.Done) {
      if (this.#state === State.Data) {
        const n = Math.min(this.#left, end - at);
        if (this.#length + n > this.#into.length) throw badResponse(`a chunked body longer than the ${this.#into.length} bytes expected`);
        this.#into.set(bytes.subarray(at, at + n), this.#length);
        this.#length += n;
        this.#left -= n;
        at += n;
        if (this.#left === 0) this.#state = State.DataCr;
        continue;
      }
      this.#byte(bytes[at]!);
      at++;
    }
    return at;
  }

  #byte(byte: number): void {
    switch (this.#state) {
      case State.Size: {
        const digit = hexValue(byte);
        if (digit !== -1) {
          if (++this.#digits > MAX_SIZE_DIGITS) throw badResponse(`a chunk size of more than ${MAX_SIZE_DIGITS} hex digits`);
          this.#size = this.#size * 16 + digit;
        } else if (this.#digits === 0) {
          throw badResponse(`a chunk size line that starts with byte ${byte}, not a hex digit`);
        } else {
          this.#afterSize(byte);
        }
        return;
      }
      case State.SizeSpace:
        this.#afterSize(byte);
        return;
      case State.Extension:
        if (byte === CR) this.#state = State.SizeLf;
        else if (byte === LF || ++this.#extension > MAX_CHUNK_EXTENSION_BYTES) throw badResponse('a malformed or overlong chunk extension');
        return;
      case State.SizeLf:
        this.#expect(byte, LF, 'a chunk size line');
        if (this.#size === 0) {
          this.#state = State.TrailerStart;
        } else {
          this.#left = this.#size;
          this.#state = State.Data;
        }
        return;
      case State.DataCr:
        this.#expect(byte, CR, 'chunk data');
        this.#state = State.DataLf;
        return;
      case State.DataLf:
        this.#expect(byte, LF, 'chunk data');
        this.#size = 0;
        this.#digits = 0;
        this.#extension = 0;
        this.#state = State.Size;
        return;
      case State.TrailerStart:
        this.#state = byte === CR ? State.FinalLf : State.Trailer;
        this.#countTrailer();
        return;
      case State.Trailer:
        if (byte === CR) this.#state = State.TrailerLf;
        this.#countTrailer();
        return;
      case State.TrailerLf:
        this.#expect(byte, LF, 'a trailer field');
        this.#countTrailer();
        this.#state = State.TrailerStart;
        return;
      case State.FinalLf:
        this.#expect(byte, LF, 'the chunked body');
        this.#state = State.Done;
        return;
      default:
        throw new Error(`unreachable decoder state ${this.#state}`);
    }
  }

  /** After a chunk size's digits: blanks, then extensions or the line's end. */
  #afterSize(byte: number): void {
    if (byte === 0x20 || byte === 0x09) this.#state = State.SizeSpace;
    else if (byte === 0x3b) this.#state = State.Extension;
    else if (byte === CR) this.#state = State.SizeLf;
    else throw badResponse(`a chunk size line with byte ${byte} after its size`);
  }

  #expect(byte: number, wanted: number, after: string): void {
    if (byte !== wanted) throw badResponse(`${after} not ended by CRLF`);
  }

  #countTrailer(): void {
    if (++this.#trailer > MAX_TRAILER_BYTES) throw badResponse(`a trailer section over ${MAX_TRAILER_BYTES} bytes`);
  }
}
