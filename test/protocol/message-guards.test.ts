import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../src/protocol/errors';
import { CHUNK_BYTES } from '../../src/protocol/limits';
import { parseClientMessage, parseServerMessage, UnknownOpError } from '../../src/protocol/message-guards';

test('well-formed client messages pass unchanged', () => {
  const good = [
    { t: 'hello', version: 1, clientId: 'acme' },
    { t: 'hello', version: 1, clientId: 'acme', token: 'a'.repeat(512) },
    { t: 'call', id: 0, op: 'getPhoto', args: { id: 'x' } },
    { t: 'chunk', id: 5, data: Buffer.alloc(CHUNK_BYTES) },
    { t: 'end', id: 5 },
    { t: 'abort', id: 5 },
  ];
  for (const m of good) assert.deepEqual(parseClientMessage(m), m);
});

test('malformed client messages are protocol errors', () => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /must be a map/],
    [[1, 2], /must be a map/],
    [Buffer.from('x'), /must be a map/],
    [{ id: 1 }, /`t` must be a string/],
    [{ t: 'launch' }, /unknown client message type/],
    [{ t: 'hello', version: '1', clientId: 'a' }, /`version` must be an integer/],
    [{ t: 'hello', version: 1 }, /`clientId` must be a string/],
    [{ t: 'hello', version: 1, clientId: 'a', token: 42 }, /`token` must be a string/],
    [{ t: 'hello', version: 1, clientId: 'a', token: 'a'.repeat(513) }, /at most 512 characters/],
    [{ t: 'call', id: -1, op: 'getPhoto', args: {} }, /`id` must be a non-negative safe integer/],
    [{ t: 'call', id: 1.5, op: 'getPhoto', args: {} }, /`id`/],
    [{ t: 'call', id: 2 ** 53, op: 'getPhoto', args: {} }, /`id`/],
    [{ t: 'call', id: '1', op: 'getPhoto', args: {} }, /`id`/],
    [{ t: 'call', id: 1, op: 7, args: {} }, /`op` must be a string/],
    [{ t: 'call', id: 1, op: 'getPhoto', args: [] }, /`args` must be a map/],
    [{ t: 'call', id: 1, op: 'getPhoto' }, /`args` must be a map/],
    [{ t: 'chunk', id: 1, data: 'text' }, /`data` must be binary/],
    [{ t: 'chunk', id: 1, data: Buffer.alloc(CHUNK_BYTES + 1) }, /exceeds/],
    [{ t: 'end' }, /`id`/],
  ];
  for (const [m, message] of bad) {
    assert.throws(() => parseClientMessage(m), (err: unknown) => err instanceof ProtocolError && message.test(err.message), JSON.stringify(m));
  }
});

test('a well-formed call to an unknown op is an UnknownOpError carrying the call id', () => {
  assert.throws(
    () => parseClientMessage({ t: 'call', id: 9, op: 'dropDatabase', args: {} }),
    (err: unknown) => err instanceof UnknownOpError && err.callId === 9 && err.code === 'VALIDATION' && /unknown op/.test(err.message),
  );
});

test('server messages are checked too', () => {
  const hello = {
    t: 'hello',
    version: 1,
    server: '0.1.0',
    limits: { maxFrameBytes: 1, chunkBytes: 1, maxInFlight: 1, uploadWindowChunks: 1, maxBodyBytes: 1 },
  };
  assert.deepEqual(parseServerMessage(hello), hello);
  assert.deepEqual(parseServerMessage({ t: 'credit', id: 1, chunks: 8 }), { t: 'credit', id: 1, chunks: 8 });
  assert.deepEqual(parseServerMessage({ t: 'result', id: 1, value: undefined }), { t: 'result', id: 1, value: undefined });
  const error = { t: 'error', id: 1, error: { code: 'NOT_FOUND', message: 'gone', details: { id: 'x' } } };
  assert.deepEqual(parseServerMessage(error), error);
  // A code from a newer daemon is kept as an error, as INTERNAL.
  assert.equal(
    (parseServerMessage({ t: 'fatal', error: { code: 'NEWFANGLED', message: 'x' } }) as { error: { code: string } }).error.code,
    'INTERNAL',
  );
  assert.throws(() => parseServerMessage({ t: 'credit', id: 1, chunks: 0 }), ProtocolError);
  assert.throws(() => parseServerMessage({ t: 'error', id: 1, error: 'nope' }), ProtocolError);
  assert.throws(() => parseServerMessage({ ...hello, limits: { ...hello.limits, chunkBytes: 'x' } }), /hello limits/);
  assert.throws(() => parseServerMessage({ t: 'call', id: 1 }), /unknown server message type/);
});
