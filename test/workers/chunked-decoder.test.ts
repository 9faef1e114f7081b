import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkedDecoder, MAX_CHUNK_EXTENSION_BYTES, MAX_TRAILER_BYTES } from '../../src/s3/chunked-decoder';

const DATA = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

function text(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** DATA in three chunks, with what a proxy may add: upper-case and zero-padded sizes, extensions, trailers. */
const ENCODED = Buffer.concat([
  text('a\r\n'),
  DATA.subarray(0, 10),
  text('\r\n00000014;name=value;flag\r\n'),
  DATA.subarray(10, 30),
  text('\r\n6 ; ext="quoted"\r\n'),
  DATA.subarray(30),
  text('\r\n0\r\nX-Checksum: abc\r\nX-Other: def\r\n\r\n'),
]);

/** Feeds `pieces` to a fresh decoder whose data goes to `room` bytes; returns what it decoded. */
function decode(pieces: Uint8Array[], room = DATA.length): { data: Buffer; done: boolean; length: number; stoppedAt: number } {
  const decoder = new ChunkedDecoder();
  const data = Buffer.alloc(room);
  decoder.reset(data);
  let stoppedAt = 0;
  for (const piece of pieces) stoppedAt = decoder.push(piece, 0, piece.length);
  return { data, done: decoder.done, length: decoder.length, stoppedAt };
}

function refuses(encoded: string | Buffer, message: RegExp, room = 64): void {
  assert.throws(() => decode([typeof encoded === 'string' ? text(encoded) : encoded], room), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_S3_BAD_RESPONSE');
    assert.match(err.message, message);
    return true;
  });
}

describe('ChunkedDecoder', () => {
  it('decodes chunks with extensions and trailers into the memory given, and stops just past the body', () => {
    const { data, done, length, stoppedAt } = decode([Buffer.concat([ENCODED, text('HTTP/1.1 200')])]);
    assert.equal(done, true);
    assert.equal(length, DATA.length);
    assert.deepEqual(data, DATA);
    assert.equal(stoppedAt, ENCODED.length, 'the bytes after the body are left to the caller');
  });

  it('decodes the same body split in two at every byte boundary', () => {
    for (let cut = 0; cut <= ENCODED.length; cut++) {
      const { data, done } = decode([ENCODED.subarray(0, cut), ENCODED.subarray(cut)]);
      assert.equal(done, true, `cut at ${cut}`);
      assert.deepEqual(data, DATA, `cut at ${cut}`);
    }
  });

  it('decodes the same body one byte at a time', () => {
    const { data, done } = decode([...ENCODED].map((byte) => Uint8Array.of(byte)));
    assert.equal(done, true);
    assert.deepEqual(data, DATA);
  });

  it('is not done on any truncated prefix, and has stored exactly the data that prefix holds', () => {
    for (let cut = 0; cut < ENCODED.length; cut++) {
      const { data, done, length } = decode([ENCODED.subarray(0, cut)]);
      assert.equal(done, false, `prefix of ${cut}`);
      assert.deepEqual(data.subarray(0, length), DATA.subarray(0, length), `prefix of ${cut}`);
    }
  });

  it('decodes an empty body (the last chunk alone), and one without trailers', () => {
    assert.deepEqual(decode([text('0\r\n\r\n')], 0), { data: Buffer.alloc(0), done: true, length: 0, stoppedAt: 5 });
    assert.equal(decode([text('3\r\nabc\r\n0\r\n\r\n')], 3).data.toString(), 'abc');
  });

  it('starts over after reset (a kept-alive connection)', () => {
    const decoder = new ChunkedDecoder();
    for (const word of ['first', 'second']) {
      const into = Buffer.alloc(word.length);
      decoder.reset(into);
      const encoded = text(`${word.length.toString(16)}\r\n${word}\r\n0\r\n\r\n`);
      assert.equal(decoder.push(encoded, 0, encoded.length), encoded.length);
      assert.equal(decoder.done, true);
      assert.equal(into.toString(), word);
    }
  });

  it('refuses malformed chunk size lines', () => {
    refuses('\r\nabc\r\n0\r\n\r\n', /chunk size line that starts with byte 13/);
    refuses('-3\r\nabc\r\n0\r\n\r\n', /chunk size line that starts with byte 45/);
    refuses('3x\r\nabc\r\n0\r\n\r\n', /chunk size line with byte 120 after its size/);
    refuses('3 4\r\nabcd\r\n0\r\n\r\n', /chunk size line with byte 52 after its size/);
    refuses('3\nabc\r\n0\r\n\r\n', /chunk size line with byte 10 after its size/);
    refuses('3\r\rabc\r\n0\r\n\r\n', /a chunk size line not ended by CRLF/);
    refuses(`${'f'.repeat(14)}\r\n`, /a chunk size of more than 13 hex digits/);
    refuses('3;bad\next\r\nabc\r\n0\r\n\r\n', /a malformed or overlong chunk extension/);
    refuses(`3;${'e'.repeat(MAX_CHUNK_EXTENSION_BYTES + 1)}\r\nabc\r\n0\r\n\r\n`, /a malformed or overlong chunk extension/);
  });

  it('refuses chunk data not followed by CRLF (a size that lies)', () => {
    refuses('3\r\nabcd\r\n0\r\n\r\n', /chunk data not ended by CRLF/);
    refuses('3\r\nabc\rx0\r\n\r\n', /chunk data not ended by CRLF/);
    refuses('3\r\nabc0\r\n\r\n', /chunk data not ended by CRLF/);
  });

  it('refuses trailers that do not end in CRLF, or that go on past their bound', () => {
    refuses('0\r\nX-A: b\rx\r\n\r\n', /a trailer field not ended by CRLF/);
    refuses('0\r\n\rx', /the chunked body not ended by CRLF/);
    refuses(`0\r\nX-Pad: ${'a'.repeat(MAX_TRAILER_BYTES)}\r\n\r\n`, new RegExp(`a trailer section over ${MAX_TRAILER_BYTES} bytes`));
  });

  it('refuses a body longer than the memory given, before writing past it', () => {
    refuses(ENCODED, /a chunked body longer than the 35 bytes expected/, DATA.length - 1);
    // Sizes that add up past the room are refused as their data arrives, whatever the chunks.
    refuses('5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n', /longer than the 8 bytes expected/, 8);
  });
});
