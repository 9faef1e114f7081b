// An HTTP/1.1 response read from bytes as a socket delivers them, for the
// plain-HTTP download path (raw-connection.ts): status line, headers, then a
// body of Content-Length bytes, or in chunked coding (chunked-decoder.ts, as
// a proxy in front of the store sends it), copied straight to where the
// caller wants it, so reading a part allocates nothing per socket read. Only
// what an S3 server or a proxy sends is understood; anything else (other
// transfer codings, a header block over its bound, bytes past the body) is an
// error, after which the connection must not be used again.

import { badResponse } from './s3-error';
import { ChunkedDecoder } from './chunked-decoder';

export interface ResponseHead {
  status: number;
  /** Lowercase names; a header sent twice keeps its values joined by ', '. */
  headers: Map<string, string>;
  /** The body's length, or null for a chunked body (whose length is known once it is read: bodyRead). */
  contentLength: number | null;
  /** The connection may carry another request once this response is read. */
  keepAlive: boolean;
}

/** The header block MinIO sends is under 1 KiB; this leaves room for proxies. */
export const MAX_HEAD_BYTES = 16 * 1024;

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
const DIGITS = /^\d{1,15}$/;

/**
 * A well-formed answer this reader does not frame: a body that ends with the
 * connection (HTTP/1.0 style, which some proxies send). The caller reads such
 * answers through node:http instead.
 */
export const NOT_LENGTH_FRAMED = 'ERR_S3_NOT_LENGTH_FRAMED';

function notLengthFramed(message: string): Error {
  return Object.assign(new Error(message), { code: NOT_LENGTH_FRAMED });
}

/**
 * One reader per connection, reset() for each response. `bodyFor` is asked,
 * once the head is read, where the body goes. Of a body with a
 * Content-Length, bytes beyond the returned array's length are read and
 * dropped (an error body is kept only in part); a chunked body must fit in
 * it, or the response is refused (nothing else bounds it). `bodyFor` may
 * throw to refuse the response.
 */
export class ResponseReader {
  readonly #headBytes: Buffer;
  #headLength = 0;
  #head: ResponseHead | null = null;
  #bodyFor: (head: ResponseHead) => Uint8Array = () => new Uint8Array(0);
  #body: Uint8Array = new Uint8Array(0);
  #bodyRead = 0;
  #complete = false;
  readonly #chunks = new ChunkedDecoder();

  constructor(maxHeadBytes = MAX_HEAD_BYTES) {
    this.#headBytes = Buffer.allocUnsafe(maxHeadBytes);
  }

  reset(bodyFor: (head: ResponseHead) => Uint8Array): void {
    this.#headLength = 0;
    this.#head = null;
    this.#bodyFor = bodyFor;
    this.#body = new Uint8Array(0);
    this.#bodyRead = 0;
    this.#complete = false;
  }

  get head(): ResponseHead | null {
    return this.#head;
  }

  /** Body bytes read so far, stored or dropped (of a chunked body: its data, all stored). */
  get bodyRead(): number {
    return this.#head?.contentLength === null ? this.#chunks.length : this.#bodyRead;
  }

  get complete(): boolean {
    return this.#complete;
  }

  /**
   * Where the next socket read may go directly instead of through push():
   * the rest of a Content-Length body, when all of it is kept (not an error
   * body past its bound, whose tail push() drops). Null while the head is
   * still to come, for a chunked body, and once the response is complete.
   * It is exactly as long as the bytes still to come, so a read into it
   * never takes bytes of whatever follows.
   */
  directRoom(): Uint8Array | null {
    const head = this.#head;
    if (head === null || head.contentLength === null || this.#complete) return null;
    const end = head.contentLength;
    if (end > this.#body.length || end <= this.#bodyRead) return null;
    return this.#body.subarray(this.#bodyRead, end);
  }

  /** `n` body bytes were read straight into directRoom(); true once the whole response is in. */
  landed(n: number): boolean {
    const head = this.#head;
    if (head === null || head.contentLength === null || this.#bodyRead + n > head.contentLength) {
      throw badResponse(`${n} bytes landed where no body had room for them`);
    }
    this.#bodyRead += n;
    this.#complete = this.#bodyRead === head.contentLength;
    return this.#complete;
  }

  /** Reads bytes[start, end); true once the whole response is in. Throws on a malformed response. */
  push(bytes: Uint8Array, start: number, end: number): boolean {
    let at = start;
    if (this.#head === null) {
      at = this.#readHead(bytes, start, end);
      if (this.#head === null) return false;
    }
    const head = this.#head as ResponseHead;
    if (head.contentLength === null) {
      const stop = this.#chunks.push(bytes, at, end);
      if (stop < end) throw badResponse(`${end - stop} bytes arrived past the end of a chunked body`);
      this.#complete = this.#chunks.done;
      return this.#complete;
    }
    const wanted = Math.min(end - at, head.contentLength - this.#bodyRead);
    if (at + wanted < end) throw badResponse(`${end - at - wanted} bytes arrived past the end of a ${head.contentLength}-byte body`);
    const storable = Math.min(wanted, this.#body.length - this.#bodyRead);
    if (storable > 0) this.#body.set(bytes.subarray(at, at + storable), this.#bodyRead);
    this.#bodyRead += wanted;
    this.#complete = this.#bodyRead === head.contentLength;
    return this.#complete;
  }

  /** Copies head bytes until the blank line; returns where the body starts in `bytes`. */
  #readHead(bytes: Uint8Array, start: number, end: number): number {
    // The blank line may straddle reads: look back up to 3 bytes into what was kept.
    const scanFrom = Math.max(0, this.#headLength - 3);
    const room = this.#headBytes.length - this.#headLength;
    const take = Math.min(end - start, room);
    this.#headBytes.set(bytes.subarray(start, start + take), this.#headLength);
    const kept = this.#headLength + take;
    const blank = this.#headBytes.subarray(0, kept).indexOf('\r\n\r\n', scanFrom, 'latin1');
    if (blank === -1) {
      if (kept === this.#headBytes.length) throw badResponse(`the response's header block is over ${this.#headBytes.length} bytes`);
      this.#headLength = kept;
      return end;
    }
    const head = parseHead(this.#headBytes.toString('latin1', 0, blank));
    this.#head = head;
    this.#body = this.#bodyFor(head);
    if (head.contentLength === null) this.#chunks.reset(this.#body);
    this.#complete = head.contentLength === 0;
    return start + (blank + 4 - this.#headLength);
  }
}

/** Characters of an HTTP token (RFC 9110, 5.6.2), by code: header names must be made of them. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHARS[c.charCodeAt(0)] = 1;

function isToken(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

const isBlank = (c: number) => c === 32 || c === 9;

/**
 * Parses a head (without its blank line) by index, not by splitting it into
 * lines and testing each with regular expressions: that way it took 4% of
 * the daemon's main thread at 16 gateway downloads of 200 KB in flight, for
 * MinIO's ~20 header lines per answer.
 */
function parseHead(text: string): ResponseHead {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const first = text.slice(0, lineEnd);
  const statusLine = STATUS_LINE.exec(first);
  if (statusLine === null) throw badResponse(`not an HTTP/1.x status line: ${JSON.stringify(first.slice(0, 80))}`);
  const status = Number(statusLine[2]);
  if (status < 200) throw badResponse(`an informational ${status} answer was not asked for`);
  const headers = new Map<string, string>();
  for (let at = lineEnd + 2; at < text.length + 2; ) {
    let end = text.indexOf('\r\n', at);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', at);
    if (colon === -1 || colon >= end || !isToken(text, at, colon)) {
      throw badResponse(`a malformed header line: ${JSON.stringify(text.slice(at, Math.min(end, at + 80)))}`);
    }
    const key = text.slice(at, colon).toLowerCase();
    let from = colon + 1;
    let to = end;
    while (from < to && isBlank(text.charCodeAt(from))) from++;
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
    const value = text.slice(from, to);
    const before = headers.get(key);
    headers.set(key, before === undefined ? value : `${before}, ${value}`);
    at = end + 2;
  }
  const coding = headers.get('transfer-encoding');
  const lengthText = headers.get('content-length');
  let contentLength: number | null = 0;
  if (coding !== undefined) {
    if (coding.toLowerCase() !== 'chunked') throw badResponse(`a body in Transfer-Encoding ${coding} is not read here`);
    // Both framings at once is how responses are smuggled past a proxy (RFC 9112, 6.3).
    if (lengthText !== undefined) throw badResponse('an answer with both Transfer-Encoding and Content-Length');
    contentLength = status === 204 || status === 304 ? 0 : null;
  } else if (lengthText !== undefined) {
    // The same length sent twice is allowed (RFC 9112, 6.3); two lengths are not.
    const lengths = new Set(lengthText.split(/\s*,\s*/));
    const only = lengths.size === 1 ? [...lengths][0]! : '';
    if (!DIGITS.test(only)) throw badResponse(`an unusable Content-Length: ${JSON.stringify(lengthText.slice(0, 40))}`);
    contentLength = Number(only);
  } else if (status !== 204 && status !== 304) {
    throw notLengthFramed(`a ${status} answer without Content-Length (a body that ends with the connection is not read here)`);
  }
  const connection = headers.get('connection')?.toLowerCase() ?? '';
  const keepAlive = statusLine[1] === '1' && !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
  return { status, headers, contentLength, keepAlive };
}
