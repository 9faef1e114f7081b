import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_HEAD_BYTES, ResponseReader, type ResponseHead, NOT_LENGTH_FRAMED } from '../../src/s3/response-reader';

const BODY = Buffer.from('0123456789abcdefghij');
const PARTIAL = Buffer.concat([
  Buffer.from(
    'HTTP/1.1 206 Partial Content\r\n' +
      'Accept-Ranges: bytes\r\n' +
      `Content-Length: ${BODY.length}\r\n` +
      'Content-Range: bytes 100-119/4096\r\n' +
      'ETag: "5d41402abc4b2a76b9719d911017c592"\r\n' +
      'X-Amz-Meta-A: one\r\n' +
      'x-amz-meta-a:   two  \r\n' +
      '\r\n',
    'latin1',
  ),
  BODY,
]);

/** Feeds `pieces` to a fresh reader whose body goes to a buffer of `room` bytes; returns what it read. */
function read(pieces: Uint8Array[], room = BODY.length): { head: ResponseHead | null; body: Buffer; complete: boolean; bodyRead: number } {
  const reader = new ResponseReader();
  const body = Buffer.alloc(room);
  reader.reset(() => body);
  let complete = false;
  for (const piece of pieces) complete = reader.push(piece, 0, piece.length);
  return { head: reader.head, body, complete, bodyRead: reader.bodyRead };
}

function text(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function refuses(response: string, message: RegExp, code = 'ERR_S3_BAD_RESPONSE'): void {
  assert.throws(() => read([text(response)]), (err: Error & { code?: string }) => {
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('ResponseReader', () => {
  it('reads status, headers and body of a whole response in one piece', () => {
    const { head, body, complete } = read([PARTIAL]);
    assert.equal(complete, true);
    assert.equal(head?.status, 206);
    assert.equal(head?.contentLength, BODY.length);
    assert.equal(head?.keepAlive, true);
    assert.equal(head?.headers.get('content-range'), 'bytes 100-119/4096');
    assert.equal(head?.headers.get('etag'), '"5d41402abc4b2a76b9719d911017c592"');
    // Names are case-insensitive; a repeated header keeps both values, trimmed.
    assert.equal(head?.headers.get('x-amz-meta-a'), 'one, two');
    assert.deepEqual(body, BODY);
  });

  it('reads the same response split in two at every byte boundary', () => {
    for (let cut = 0; cut <= PARTIAL.length; cut++) {
      const { head, body, complete } = read([PARTIAL.subarray(0, cut), PARTIAL.subarray(cut)]);
      assert.equal(complete, true, `cut at ${cut}`);
      assert.equal(head?.headers.get('content-range'), 'bytes 100-119/4096', `cut at ${cut}`);
      assert.deepEqual(body, BODY, `cut at ${cut}`);
    }
  });

  it('reads the same response one byte at a time', () => {
    const pieces = [...PARTIAL].map((byte) => Uint8Array.of(byte));
    const { head, body, complete } = read(pieces);
    assert.equal(complete, true);
    assert.equal(head?.status, 206);
    assert.deepEqual(body, BODY);
  });

  it('reads a piece from the middle of a larger array (start and end are honoured)', () => {
    const framed = Buffer.concat([text('junk'), PARTIAL, text('more junk')]);
    const reader = new ResponseReader();
    const body = Buffer.alloc(BODY.length);
    reader.reset(() => body);
    assert.equal(reader.push(framed, 4, 4 + PARTIAL.length), true);
    assert.deepEqual(body, BODY);
  });

  it('is not complete while the body is short, and says how much came', () => {
    const { head, complete, bodyRead } = read([PARTIAL.subarray(0, PARTIAL.length - 5)]);
    assert.equal(head?.status, 206);
    assert.equal(complete, false);
    assert.equal(bodyRead, BODY.length - 5);
  });

  it('keeps only what fits where the body goes, and still reads the body to its end', () => {
    const { body, complete, bodyRead } = read([PARTIAL], 8);
    assert.equal(complete, true);
    assert.equal(bodyRead, BODY.length);
    assert.deepEqual(body, BODY.subarray(0, 8));
  });

  it('reads one response after another on the same reader (a kept-alive connection)', () => {
    const reader = new ResponseReader();
    for (const status of [206, 404]) {
      const body = Buffer.alloc(3);
      reader.reset(() => body);
      const answer = text(`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\n\r\nabc`);
      assert.equal(reader.push(answer, 0, answer.length), true);
      assert.equal(reader.head?.status, status);
      assert.equal(body.toString(), 'abc');
    }
  });

  it('completes at the head when there is no body (Content-Length: 0, 204, 304)', () => {
    for (const response of ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\n\r\n']) {
      const { complete, head } = read([text(response)]);
      assert.equal(complete, true, response);
      assert.equal(head?.contentLength, 0, response);
    }
  });

  it('keeps the connection only when HTTP/1.1 does not say close', () => {
    const keep = (response: string) => read([text(response)]).head?.keepAlive;
    assert.equal(keep('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n'), true);
    assert.equal(keep('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Close\r\n\r\n'), false);
    assert.equal(keep('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: upgrade, close\r\n\r\n'), false);
    assert.equal(keep('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false);
  });

  it('refuses what is not an HTTP/1.x status line', () => {
    refuses('HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n', /not an HTTP\/1\.x status line: "HTTP\/2 200 OK"/);
    refuses('HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', /not an HTTP\/1\.x status line/);
    refuses('HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n', /not an HTTP\/1\.x status line/);
    refuses('SSH-2.0-OpenSSH_9.6\r\n\r\n', /not an HTTP\/1\.x status line/);
    refuses('HTTP/1.1 100 Continue\r\n\r\n', /an informational 100 answer was not asked for/);
  });

  it('reads a chunked body (a proxy in front of the store), split in two at every byte boundary', () => {
    const chunked = text(
      'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-119/4096\r\nTransfer-Encoding: Chunked\r\n\r\n' +
        `c\r\n${BODY.toString('latin1', 0, 12)}\r\n8\r\n${BODY.toString('latin1', 12)}\r\n0\r\n\r\n`,
    );
    for (let cut = 0; cut <= chunked.length; cut++) {
      const { head, body, complete, bodyRead } = read([chunked.subarray(0, cut), chunked.subarray(cut)]);
      assert.equal(complete, true, `cut at ${cut}`);
      assert.equal(head?.contentLength, null, 'a chunked body has no length up front');
      assert.equal(head?.keepAlive, true);
      assert.equal(bodyRead, BODY.length);
      assert.deepEqual(body, BODY, `cut at ${cut}`);
    }
    for (let cut = 0; cut < chunked.length; cut++) assert.equal(read([chunked.subarray(0, cut)]).complete, false, `prefix of ${cut}`);
    assert.throws(() => read([chunked, text('x')]), /1 bytes arrived past the end of a chunked body/);
    // A chunked body must fit where it goes: nothing else bounds it.
    assert.throws(() => read([chunked], BODY.length - 1), /a chunked body longer than the 19 bytes expected/);
  });

  it('refuses other transfer codings, and a length beside chunked coding', () => {
    refuses('HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /Transfer-Encoding gzip, chunked is not read here/);
    refuses('HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: gzip\r\n\r\n', /Transfer-Encoding gzip is not read here/);
    refuses('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /both Transfer-Encoding and Content-Length/);
  });

  it('leaves a body ended by the connection to node:http, saying so by its code; refuses a length it cannot trust', () => {
    refuses('HTTP/1.1 206 Partial Content\r\n\r\nhello', /a 206 answer without Content-Length/, NOT_LENGTH_FRAMED);
    refuses('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', /an unusable Content-Length: "5, 6"/);
    refuses('HTTP/1.1 206 Partial Content\r\nContent-Length: -5\r\n\r\nhello', /an unusable Content-Length/);
    refuses('HTTP/1.1 206 Partial Content\r\nContent-Length: 0x10\r\n\r\nhello', /an unusable Content-Length/);
    refuses('HTTP/1.1 206 Partial Content\r\nContent-Length: 99999999999999999999\r\n\r\n', /an unusable Content-Length/);
    // The same length twice is one length.
    assert.equal(read([text('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc')], 3).complete, true);
  });

  it('refuses malformed header lines', () => {
    refuses('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /a malformed header line: "no colon here"/);
    refuses('HTTP/1.1 200 OK\r\n: empty name\r\n\r\n', /a malformed header line/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', /a malformed header line/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n folded continuation\r\n\r\n', /a malformed header line/);
  });

  it('refuses a header block over its bound, whether it arrives at once or in pieces', () => {
    const long = `HTTP/1.1 200 OK\r\nX-Padding: ${'a'.repeat(MAX_HEAD_BYTES)}\r\nContent-Length: 0\r\n\r\n`;
    refuses(long, new RegExp(`header block is over ${MAX_HEAD_BYTES} bytes`));
    const pieces = [...text(long)].map((byte) => Uint8Array.of(byte));
    assert.throws(() => read(pieces), /header block is over/);
    // Just under the bound is read.
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: \r\n\r\n';
    const fits = head.replace('X-Padding: ', `X-Padding: ${'a'.repeat(MAX_HEAD_BYTES - head.length)}`);
    assert.equal(fits.length, MAX_HEAD_BYTES);
    assert.equal(read([text(fits)]).complete, true);
  });

  it('refuses bytes past the end of the body (nothing was asked that could explain them)', () => {
    assert.throws(() => read([Buffer.concat([PARTIAL, text('HTTP/1.1 200 OK\r\n')])]), /17 bytes arrived past the end of a 20-byte body/);
    assert.throws(() => read([PARTIAL, text('x')]), /1 bytes arrived past the end/);
  });

  it('fails with what bodyFor throws, so a caller can refuse a response by its head', () => {
    const reader = new ResponseReader();
    reader.reset(() => {
      throw new Error('not that range');
    });
    assert.throws(() => reader.push(PARTIAL, 0, PARTIAL.length), /not that range/);
  });
  it('offers the rest of a kept Content-Length body as the next read\'s room, exactly as long as what is still to come', () => {
    const reader = new ResponseReader();
    const body = Buffer.alloc(BODY.length);
    reader.reset(() => body);
    assert.equal(reader.directRoom(), null, 'no room before the head');
    const headEnd = PARTIAL.length - BODY.length;
    // The head and 5 body bytes come through push(), as a first read does.
    assert.equal(reader.push(PARTIAL, 0, headEnd + 5), false);
    let room = reader.directRoom()!;
    assert.equal(room.length, BODY.length - 5);
    assert.equal(room.buffer, body.buffer);
    // A socket read lands 10 bytes in it.
    BODY.copy(room, 0, 5, 15);
    assert.equal(reader.landed(10), false);
    room = reader.directRoom()!;
    assert.equal(room.length, BODY.length - 15);
    BODY.copy(room, 0, 15);
    assert.equal(reader.landed(room.length), true);
    assert.ok(body.equals(BODY));
    assert.equal(reader.bodyRead, BODY.length);
    assert.equal(reader.directRoom(), null, 'none once the response is complete');
  });

  it('offers no room for a chunked body or one kept only in part, and refuses bytes that landed past the body', () => {
    const chunked = new ResponseReader();
    chunked.reset(() => Buffer.alloc(64));
    chunked.push(text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 0, 47);
    assert.ok(chunked.head !== null);
    assert.equal(chunked.directRoom(), null);
    const small = new ResponseReader();
    small.reset(() => Buffer.alloc(4));
    small.push(PARTIAL, 0, PARTIAL.length - BODY.length);
    assert.equal(small.directRoom(), null, 'the tail beyond the kept 4 bytes must go through push() to be dropped');
    const over = new ResponseReader();
    over.reset(() => Buffer.alloc(BODY.length));
    over.push(PARTIAL, 0, PARTIAL.length - BODY.length);
    assert.throws(() => over.landed(BODY.length + 1), /landed where no body had room/);
  });
});
