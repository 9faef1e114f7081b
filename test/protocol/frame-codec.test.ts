import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../src/protocol/errors';
import { encodeChunkFrameHead, encodeFrame, encodeResultFrame, encodeValue, FrameDecoder } from '../../src/protocol/frame-codec';
import { CHUNK_BYTES, MAX_FRAME_BYTES } from '../../src/protocol/limits';

const sample = {
  t: 'call',
  id: 7,
  op: 'storePhoto',
  args: { options: { originalName: 'ünïcode ☃.png', clientId: 'acme', metadata: { a: 'b' } }, list: [1, null, true, -2.5] },
};

test('a frame round-trips, with a 4-byte big-endian length prefix', () => {
  const frame = encodeFrame(sample);
  assert.equal(frame.readUInt32BE(0), frame.length - 4);
  assert.deepEqual(new FrameDecoder().push(frame), [sample]);
});

test('binary data travels as bytes and comes back as a Buffer', () => {
  const data = new Uint8Array([0, 1, 2, 255]);
  const [decoded] = new FrameDecoder().push(encodeFrame({ t: 'chunk', id: 1, data })) as Array<{ data: Uint8Array }>;
  assert.ok(decoded!.data instanceof Uint8Array);
  assert.deepEqual([...decoded!.data], [0, 1, 2, 255]);
});

test('frames encoded one after another do not share memory', () => {
  // msgpackr reuses its output buffer; a frame must stay intact after the next encode.
  const first = encodeFrame({ n: 1 });
  const copy = Buffer.from(first);
  encodeFrame({ n: 2, pad: 'x'.repeat(100) });
  assert.deepEqual(first, copy);
});

test('every truncated prefix of a frame decodes to nothing, then the rest completes it', () => {
  const frame = encodeFrame(sample);
  for (let cut = 0; cut < frame.length; cut++) {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(frame.subarray(0, cut)), [], `prefix of ${cut} bytes`);
    assert.deepEqual(decoder.push(frame.subarray(cut)), [sample], `rest after ${cut} bytes`);
  }
});

test('many frames in one chunk come out in order', () => {
  const messages = Array.from({ length: 100 }, (_, i) => ({ t: 'result', id: i, value: 'v'.repeat(i) }));
  const decoded = new FrameDecoder().push(Buffer.concat(messages.map(encodeFrame)));
  assert.deepEqual(decoded, messages);
});

test('a large frame split into 1-byte chunks decodes once, at its last byte', () => {
  const message = { t: 'chunk', id: 3, data: Buffer.alloc(CHUNK_BYTES, 9) };
  const frame = encodeFrame(message);
  const decoder = new FrameDecoder();
  let out: unknown[] = [];
  for (let i = 0; i < frame.length; i++) {
    out = decoder.push(frame.subarray(i, i + 1));
    if (i < frame.length - 1) assert.equal(out.length, 0);
  }
  assert.equal(out.length, 1);
  assert.deepEqual((out[0] as { data: Buffer }).data, message.data);
  assert.equal(decoder.bufferedBytes, 0);
});

test('frames straddling chunk boundaries decode whatever the split', () => {
  const stream = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 'two' }), encodeFrame({ c: [3] })]);
  for (let size = 1; size <= stream.length; size++) {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)));
    assert.deepEqual(out, [{ a: 1 }, { b: 'two' }, { c: [3] }], `split every ${size} bytes`);
  }
});

test('an oversized length prefix is refused before any payload is buffered', () => {
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.push(Buffer.from([0x7f, 0xff, 0xff, 0xff])), (err: unknown) => {
    assert.ok(err instanceof ProtocolError);
    assert.match(err.message, /frame length 2147483647 exceeds the limit/);
    return true;
  });
  assert.equal(decoder.bufferedBytes, 0);
  // The decoder stays failed: the stream is out of step for good.
  assert.throws(() => decoder.push(encodeFrame({ ok: true })), ProtocolError);
});

test('a prefix of exactly MAX_FRAME_BYTES is accepted, one more is not', () => {
  const atLimit = Buffer.alloc(4);
  atLimit.writeUInt32BE(MAX_FRAME_BYTES);
  assert.deepEqual(new FrameDecoder().push(atLimit), []);
  const over = Buffer.alloc(4);
  over.writeUInt32BE(MAX_FRAME_BYTES + 1);
  assert.throws(() => new FrameDecoder().push(over), ProtocolError);
});

test('a garbage payload is refused', () => {
  const junk = Buffer.from([0x00, 0x00, 0x00, 0x04, 0xc1, 0xc1, 0xc1, 0xc1]); // 0xc1 is never valid msgpack
  assert.throws(() => new FrameDecoder().push(junk), /not valid msgpack/);
});

test('a payload with trailing bytes, or an empty payload, is refused', () => {
  const valid = encodeFrame({ a: 1 }).subarray(4);
  const padded = Buffer.alloc(4 + valid.length + 1);
  padded.writeUInt32BE(valid.length + 1);
  valid.copy(padded, 4);
  assert.throws(() => new FrameDecoder().push(padded), ProtocolError);
  assert.throws(() => new FrameDecoder().push(Buffer.alloc(4)), ProtocolError);
});

test('encoding a message larger than a frame throws ProtocolError', () => {
  assert.throws(() => encodeFrame({ data: Buffer.alloc(MAX_FRAME_BYTES) }), ProtocolError);
});

test('values the fast reader leaves to msgpackr still decode, through msgpackr', () => {
  const message = { t: 'result', id: 4, value: { when: new Date(0), big: 2 ** 60, gone: undefined } };
  assert.deepStrictEqual(new FrameDecoder().push(encodeFrame(message)), [message]);
});

test('a result frame around pre-encoded value bytes is byte for byte what encodeFrame makes', () => {
  const value = { id: 'p1', metadata: { a: 'b' }, list: [1, 2.5, null], s3_url: 'u'.repeat(300) };
  const bytes = encodeValue(value);
  for (const id of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    assert.deepEqual(encodeResultFrame(id, bytes), encodeFrame({ t: 'result', id, value }), `id ${id}`);
  }
});

test('a chunk frame head followed by its data is byte for byte what encodeFrame makes', () => {
  for (const size of [0, 1, 255, 256, 65535, 65536, 256 * 1024]) {
    const data = Buffer.alloc(size, size % 251);
    for (const id of [0, 127, 128, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const frame = Buffer.concat([encodeChunkFrameHead(id, data.length), data]);
      assert.deepEqual(frame, encodeFrame({ t: 'chunk', id, data }), `id ${id}, ${size} bytes`);
    }
  }
});

test('a chunk frame head refuses a bad id and data beyond the frame limit', () => {
  assert.throws(() => encodeChunkFrameHead(-1, 10), RangeError);
  assert.throws(() => encodeChunkFrameHead(2, MAX_FRAME_BYTES), ProtocolError);
});

test('a result frame takes its memory from the given allocator', () => {
  const block = Buffer.alloc(4096);
  const frame = encodeResultFrame(5, encodeValue({ a: 1 }), (n) => block.subarray(100, 100 + n));
  assert.equal(frame.buffer, block.buffer);
  assert.deepStrictEqual(new FrameDecoder().push(frame), [{ t: 'result', id: 5, value: { a: 1 } }]);
});

test('a result frame refuses a bad id and a value beyond the frame limit', () => {
  assert.throws(() => encodeResultFrame(-1, encodeValue(1)), RangeError);
  assert.throws(() => encodeResultFrame(1.5, encodeValue(1)), RangeError);
  assert.throws(() => encodeResultFrame(1, Buffer.alloc(MAX_FRAME_BYTES)), ProtocolError);
  assert.throws(() => encodeValue('x'.repeat(MAX_FRAME_BYTES)), ProtocolError);
});
