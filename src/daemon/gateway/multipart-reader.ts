// A streaming reader of multipart/form-data (RFC 7578) bodies: parts come out
// one at a time, and a part's bytes are handed on as they arrive, never
// buffered whole. Boundaries are found by scanning each chunk, holding back
// only the few bytes that could be the start of a delimiter split between
// chunks. Header sizes, part counts and text field sizes are bounded.

import { TooLargeError, ValidationError } from '../../protocol/errors';

export interface MultipartLimits {
  /** Largest header block of one part. */
  maxHeaderBytes: number;
  /** Most parts in one body. */
  maxParts: number;
  /** Largest preamble before the first boundary. */
  maxPreambleBytes: number;
}

export interface PartHeaders {
  /** The form field name (Content-Disposition `name`). */
  name: string;
  /** Present for file parts (Content-Disposition `filename` or `filename*`). */
  filename: string | undefined;
  contentType: string | undefined;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a multipart/form-data Content-Type, or a VALIDATION error saying what is wrong. */
export function multipartBoundary(contentType: string): string {
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (boundary === undefined) {
    throw new ValidationError('multipart/form-data needs a boundary parameter of 1 to 70 characters in Content-Type');
  }
  return boundary;
}

function dispositionParam(value: string, name: string): string | undefined {
  const extended = new RegExp(`;\\s*${name}\\*\\s*=\\s*UTF-8''([^;\\s]*)`, 'i').exec(value);
  if (extended !== null) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      throw new ValidationError(`multipart part has a badly encoded ${name}*`);
    }
  }
  const quoted = new RegExp(`;\\s*${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(value);
  if (quoted !== null) return quoted[1]!.replace(/\\(.)/g, '$1');
  const bare = new RegExp(`;\\s*${name}\\s*=\\s*([^;\\s"]+)`, 'i').exec(value);
  return bare?.[1];
}

function parsePartHeaders(block: string): PartHeaders {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ValidationError('multipart part has a malformed header line');
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === 'content-disposition') disposition = value;
    else if (field === 'content-type') contentType = value;
  }
  if (disposition === undefined || !/^form-data\s*(;|$)/i.test(disposition)) {
    throw new ValidationError('every multipart part needs Content-Disposition: form-data');
  }
  const name = dispositionParam(disposition, 'name');
  if (name === undefined || name === '') throw new ValidationError('multipart part has no field name');
  return { name, filename: dispositionParam(disposition, 'filename'), contentType };
}

export class MultipartReader {
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #delimiter: Buffer;
  readonly #limits: MultipartLimits;
  /** Starts with CRLF so the first boundary matches the same delimiter as all the others. */
  #buf: Buffer = CRLF;
  #eof = false;
  #parts = 0;
  #state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';

  constructor(source: AsyncIterable<Uint8Array>, boundary: string, limits: MultipartLimits) {
    this.#source = source[Symbol.asyncIterator]();
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.#limits = limits;
  }

  /** The next part's headers, or null after the closing boundary. The previous part must have been read to its end. */
  async nextPart(): Promise<PartHeaders | null> {
    if (this.#state === 'body') throw new Error('the previous part was not read to its end');
    if (this.#state === 'preamble') await this.#skipPreamble();
    if (this.#state === 'done') return null;
    // After a delimiter: `--` closes the body, otherwise optional padding and CRLF start a part.
    await this.#need(2);
    if (this.#buf[0] === 0x2d && this.#buf[1] === 0x2d) {
      this.#state = 'done';
      return null;
    }
    const lineEnd = await this.#find(CRLF, 256, 'boundary line');
    if (this.#buf.subarray(0, lineEnd).toString('latin1').trim() !== '') {
      throw new ValidationError('multipart boundary is followed by unexpected bytes');
    }
    this.#buf = this.#buf.subarray(lineEnd + CRLF.length);
    if (++this.#parts > this.#limits.maxParts) {
      throw new ValidationError(`multipart body has more than ${this.#limits.maxParts} parts`);
    }
    // A part without headers starts straight with CRLF.
    let headers: PartHeaders;
    if (await this.#startsWith(CRLF)) {
      throw new ValidationError('every multipart part needs Content-Disposition: form-data');
    } else {
      const end = await this.#find(HEADER_END, this.#limits.maxHeaderBytes, 'part headers');
      headers = parsePartHeaders(this.#buf.subarray(0, end).toString('utf8'));
      this.#buf = this.#buf.subarray(end + HEADER_END.length);
    }
    this.#state = 'body';
    return headers;
  }

  /** The current part's bytes, as they arrive. Must be read to its end before nextPart(). */
  async *partBody(): AsyncGenerator<Buffer> {
    if (this.#state !== 'body') throw new Error('no part is open');
    const keep = this.#delimiter.length - 1;
    for (;;) {
      const at = this.#buf.indexOf(this.#delimiter);
      if (at !== -1) {
        if (at > 0) yield this.#buf.subarray(0, at);
        this.#buf = this.#buf.subarray(at + this.#delimiter.length);
        this.#state = 'headers';
        return;
      }
      if (this.#buf.length > keep) {
        const ready = this.#buf.subarray(0, this.#buf.length - keep);
        this.#buf = this.#buf.subarray(this.#buf.length - keep);
        yield ready;
      }
      if (!(await this.#more())) throw new ValidationError('multipart body ended inside a part (no closing boundary)');
    }
  }

  /** The current part read whole as UTF-8 text, refused past `maxBytes`. */
  async text(field: string, maxBytes: number): Promise<string> {
    const pieces: Buffer[] = [];
    let size = 0;
    for await (const piece of this.partBody()) {
      size += piece.length;
      if (size > maxBytes) throw new TooLargeError(`form field '${field}' is longer than ${maxBytes} bytes`);
      pieces.push(piece);
    }
    return Buffer.concat(pieces).toString('utf8');
  }

  async #skipPreamble(): Promise<void> {
    let skipped = 0;
    for (;;) {
      const at = this.#buf.indexOf(this.#delimiter);
      if (at !== -1) {
        this.#buf = this.#buf.subarray(at + this.#delimiter.length);
        this.#state = 'headers';
        return;
      }
      const drop = Math.max(0, this.#buf.length - (this.#delimiter.length - 1));
      skipped += drop;
      this.#buf = this.#buf.subarray(drop);
      if (skipped > this.#limits.maxPreambleBytes) throw new ValidationError('multipart body does not start with its boundary');
      if (!(await this.#more())) throw new ValidationError('multipart body has no boundary line (is the boundary in Content-Type right?)');
    }
  }

  async #startsWith(prefix: Buffer): Promise<boolean> {
    await this.#need(prefix.length);
    return this.#buf.subarray(0, prefix.length).equals(prefix);
  }

  /** Index of `needle` in the buffer, reading more as needed but never holding more than `limit` bytes for it. */
  async #find(needle: Buffer, limit: number, what: string): Promise<number> {
    for (;;) {
      const at = this.#buf.indexOf(needle);
      if (at !== -1 && at <= limit) return at;
      if (this.#buf.length > limit + needle.length || at > limit) {
        throw new ValidationError(`multipart ${what} longer than ${limit} bytes`);
      }
      if (!(await this.#more())) throw new ValidationError(`multipart body ended inside the ${what}`);
    }
  }

  async #need(bytes: number): Promise<void> {
    while (this.#buf.length < bytes) {
      if (!(await this.#more())) throw new ValidationError('multipart body ended early (no closing boundary)');
    }
  }

  async #more(): Promise<boolean> {
    if (this.#eof) return false;
    const next = await this.#source.next();
    if (next.done === true) {
      this.#eof = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    return true;
  }
}
