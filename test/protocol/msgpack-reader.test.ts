// The reader must give exactly what msgpackr gives, or step aside: every case
// here is checked against msgpackr's own decoding of the same bytes.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr, Unpackr } from 'msgpackr';
import { NOT_HANDLED, readMessage } from '../../src/protocol/msgpack-reader';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

function photoLike(i: number): Record<string, unknown> {
  return {
    id: `3f2a1c7e-9b1d-4c2e-8f3a-${String(i).padStart(12, '0')}`,
    s3_key: `2026/11/${i}.png`,
    bucket: 'images',
    size: 4096 + i,
    checksum: 'ab'.repeat(32),
    mime_type: 'image/png',
    original_filename: `g${i}.png`,
    width: i % 2 === 0 ? null : 640,
    height: i % 2 === 0 ? null : 480.5,
    duration: null,
    client_id: 'bench',
    session_id: null,
    user_id: 'ünïcode ☃ user',
    processing_status: 'queued',
    processing_metadata: i % 3 === 0 ? null : { steps: [1, 2, { deep: true }], note: 'x'.repeat(70) },
    processing_error: null,
    processing_started_at: null,
    processing_completed_at: null,
    metadata: { album: 'holidays', empty: '' },
    uploaded_at: '2026-11-29T08:55:33.123Z',
    created_at: '2026-11-29T08:55:33.123Z',
    updated_at: '2026-11-29T08:55:33.123Z',
    s3_url: `http://127.0.0.1:9000/images/2026/11/${i}.png?X-Amz-Signature=${'b'.repeat(64)}`,
    url_expires_at: '2026-11-29T09:55:33.000Z',
  };
}

const HANDLED: Array<[string, unknown]> = [
  ['small ints and their edges', [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31)]],
  ['floats', [0.5, -2.5, 1e300, -0, Number.MAX_SAFE_INTEGER + 0.5, 3.141592653589793]],
  ['nil and booleans', [null, true, false]],
  ['strings of every header size', ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'z'.repeat(256), 'w'.repeat(70_000)]],
  ['non-ASCII strings', ['ünïcode ☃', '日本語のファイル名', '😀 emoji', 'mixed ascii then é']],
  ['empty containers', { a: {}, b: [] }],
  ['a call frame', { t: 'call', id: 7, op: 'getPhoto', args: { id: 'abc' } }],
  ['a getPhoto result', { t: 'result', id: 123_456, value: photoLike(1) }],
  ['maps of 15, 16 and 70 keys', [15, 16, 70].map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])))],
  ['an array of 20 elements', Array.from({ length: 20 }, (_, i) => i * 3)],
  ['a key longer than the key cache takes', { ['long_key_'.repeat(6)]: 1, short: 2 }],
  ['non-ASCII keys', { 'clé': 1, '鍵': 2 }],
];

for (const [name, value] of HANDLED) {
  test(`decodes ${name} exactly as msgpackr does`, () => {
    const bytes = Buffer.from(packr.pack(value));
    const ours = readMessage(bytes);
    assert.notEqual(ours, NOT_HANDLED, 'the reader should handle this itself');
    assert.deepStrictEqual(ours, unpackr.unpack(bytes));
  });
}

test('binary comes back as a Buffer viewing the payload, as msgpackr gives it', () => {
  const bytes = Buffer.from(packr.pack({ t: 'chunk', id: 1, data: Buffer.from([0, 1, 2, 255]) }));
  const ours = readMessage(bytes) as { data: Buffer };
  assert.ok(Buffer.isBuffer(ours.data));
  assert.deepEqual([...ours.data], [0, 1, 2, 255]);
  assert.equal(ours.data.buffer, bytes.buffer, 'a view, not a copy');
});

test('a key __proto__ becomes an own property __proto_, as msgpackr makes it, and never a prototype', () => {
  const bytes = Buffer.from(packr.pack(JSON.parse('{"__proto__":{"polluted":true},"a":1}')));
  const ours = readMessage(bytes) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(ours), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepStrictEqual(ours, unpackr.unpack(bytes));
});

test('objects of one shape decoded twice are separate objects with Object.prototype', () => {
  const bytes = Buffer.from(packr.pack(photoLike(2)));
  const first = readMessage(bytes) as Record<string, unknown>;
  const second = readMessage(bytes) as Record<string, unknown>;
  assert.notEqual(first, second);
  first.size = -1;
  assert.equal(second.size, 4098, 'changing one must not change the other');
  assert.equal(Object.getPrototypeOf(second), Object.prototype);
});

test('many different shapes keep decoding correctly once the shape table is full', () => {
  for (let i = 0; i < 6000; i++) {
    const value = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`s${i}_${k}`, k]));
    const bytes = Buffer.from(packr.pack(value));
    assert.deepStrictEqual(readMessage(bytes), value);
  }
});

test('a repeated key keeps its first position and its last value, as msgpackr does', () => {
  // map16 of 6 entries: a, b, c, d, e, a.
  const parts = [Buffer.from([0xde, 0x00, 0x06])];
  for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5], ['a', 9]] as const) parts.push(Buffer.from(packr.pack(k)), Buffer.from(packr.pack(v)));
  const bytes = Buffer.concat(parts);
  const ours = readMessage(bytes);
  assert.deepStrictEqual(ours, unpackr.unpack(bytes));
  assert.deepEqual(Object.keys(ours as object), ['a', 'b', 'c', 'd', 'e']);
});

const LEFT_TO_MSGPACKR: Array<[string, Buffer]> = [
  ['a Date (extension)', Buffer.from(packr.pack(new Date(0)))],
  ['undefined (extension)', Buffer.from(packr.pack({ a: undefined }))],
  ['a uint64', Buffer.from([0xcf, 0, 0, 0, 1, 0, 0, 0, 0])],
  ['an int64', Buffer.from([0xd3, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0])],
  ['a float32', Buffer.from([0xca, 0x3f, 0xc0, 0x00, 0x00])],
  ['a number key', Buffer.from([0x81, 0x01, 0xa1, 0x61])],
  ['the unused byte 0xc1', Buffer.from([0xc1])],
  ['trailing bytes', Buffer.concat([Buffer.from(packr.pack({ a: 1 })), Buffer.from([0xc0])])],
  ['nesting deeper than the reader goes', Buffer.from(packr.pack(JSON.parse('['.repeat(100) + ']'.repeat(100))))],
];

for (const [name, bytes] of LEFT_TO_MSGPACKR) {
  test(`leaves ${name} to msgpackr`, () => {
    assert.equal(readMessage(bytes), NOT_HANDLED);
  });
}

test('every truncated prefix of a message is left to msgpackr, never misread', () => {
  const bytes = Buffer.from(packr.pack({ t: 'result', id: 9, value: photoLike(3) }));
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.equal(readMessage(bytes.subarray(0, cut)), NOT_HANDLED, `prefix of ${cut} bytes`);
  }
});

test('a length claiming more elements than there are bytes is refused before allocating', () => {
  // array32 of 2^32-1 elements in a 5-byte payload.
  assert.equal(readMessage(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])), NOT_HANDLED);
  assert.equal(readMessage(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff])), NOT_HANDLED);
});

test('frames sharing one ArrayBuffer at different offsets decode independently', () => {
  const a = Buffer.from(packr.pack({ n: 1, s: 'first' }));
  const b = Buffer.from(packr.pack({ n: 2.5, s: 'second', list: [70000, -40000] }));
  const joined = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), a, b]);
  assert.deepStrictEqual(readMessage(joined.subarray(3, 3 + a.length)), { n: 1, s: 'first' });
  assert.deepStrictEqual(readMessage(joined.subarray(3 + a.length)), { n: 2.5, s: 'second', list: [70000, -40000] });
});
