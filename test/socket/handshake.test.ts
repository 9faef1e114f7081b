import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HELLO_BYTES, MAX_IN_FLIGHT_PER_CONNECTION, UPLOAD_WINDOW_CHUNKS } from '../../src/protocol/limits';
import { encodeFrame } from '../../src/protocol/frame-codec';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { rawConnection, startServer } from './socket-harness';

test('a good hello is answered with the version and the limits', async (t) => {
  const h = await startServer(t, { maxBodyBytes: 1234 });
  const c = await rawConnection(t, h.socketPath, { hello: false });
  c.send({ t: 'hello', version: PROTOCOL_VERSION, clientId: 'acme' });
  const hello = await c.waitFor((f) => f.t === 'hello');
  assert.equal(hello.version, PROTOCOL_VERSION);
  assert.equal(hello.server, 'test');
  const limits = hello.limits as Record<string, number>;
  assert.equal(limits.maxBodyBytes, 1234);
  assert.equal(limits.maxInFlight, MAX_IN_FLIGHT_PER_CONNECTION);
  assert.equal(limits.uploadWindowChunks, UPLOAD_WINDOW_CHUNKS);
});

const refused: Array<[string, unknown, string, RegExp]> = [
  ['a wrong protocol version', { t: 'hello', version: PROTOCOL_VERSION + 1, clientId: 'acme' }, 'PROTOCOL', /version 2 is not supported/],
  ['a missing clientId', { t: 'hello', version: PROTOCOL_VERSION }, 'PROTOCOL', /clientId/],
  ['an empty clientId', { t: 'hello', version: PROTOCOL_VERSION, clientId: '' }, 'VALIDATION', /must not be empty/],
  ['a clientId with a slash', { t: 'hello', version: PROTOCOL_VERSION, clientId: 'a/b' }, 'VALIDATION', /may contain only/],
  ['a 129-character clientId', { t: 'hello', version: PROTOCOL_VERSION, clientId: 'a'.repeat(129) }, 'VALIDATION', /at most 128/],
  ['a call before hello', { t: 'call', id: 1, op: 'getPhoto', args: { id: 'x' } }, 'PROTOCOL', /expected hello/],
];

for (const [name, message, code, reason] of refused) {
  test(`${name} gets a fatal frame and a closed connection`, async (t) => {
    const h = await startServer(t);
    const c = await rawConnection(t, h.socketPath, { hello: false });
    c.send(message);
    const fatal = await c.waitFor((f) => f.t === 'fatal');
    const error = fatal.error as { code: string; message: string };
    assert.equal(error.code, code);
    assert.match(error.message, reason);
    await c.closed;
    assert.equal(h.coordinator.calls.length, 0);
    assert.equal(h.server.stats().protocolErrors, 1);
  });
}

test('a second hello is a protocol error', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'hello', version: PROTOCOL_VERSION, clientId: 'again' });
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /hello sent twice/);
  await c.closed;
});

test('a connection that never says hello is closed after the hello timeout', async (t) => {
  const h = await startServer(t, { server: { helloTimeoutMs: 100 } });
  const c = await rawConnection(t, h.socketPath, { hello: false });
  await c.closed;
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /no hello within 100 ms/);
});

// Before its hello a peer is nobody, yet it could make the daemon hold a whole
// 1 MiB frame for the hello timeout, on each of its 1024 connections: 1 GiB
// outside the memory budget, from any process that may open the socket.
test('a peer that has not said hello may not announce a frame larger than a hello', async (t) => {
  const h = await startServer(t, { server: { helloTimeoutMs: 60_000 } });
  const c = await rawConnection(t, h.socketPath, { hello: false });
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(MAX_HELLO_BYTES + 1, 0);
  c.socket.write(prefix);
  const fatal = await c.waitFor((f) => f.t === 'fatal');
  const error = fatal.error as { code: string; message: string };
  assert.equal(error.code, 'PROTOCOL');
  assert.match(error.message, new RegExp(`limit of ${MAX_HELLO_BYTES} bytes before the hello`));
  await c.closed;
  assert.equal(h.server.stats().protocolErrors, 1);
});

test('the largest hello is read, and a large call pipelined behind it in the same write has the usual limit', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath, { hello: false });
  const hello = encodeFrame({ t: 'hello', version: PROTOCOL_VERSION, clientId: 'a'.repeat(128), token: 't'.repeat(512) });
  assert.ok(hello.length <= MAX_HELLO_BYTES);
  // A call header of 60 KiB is larger than any hello and within the call limit.
  const call = encodeFrame({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'x'.repeat(60 * 1024) } });
  c.socket.write(Buffer.concat([hello, call]));
  await c.waitFor((f) => f.t === 'hello');
  // Answered (the test coordinator has no such photo), not refused as a frame.
  await c.waitFor((f) => f.t === 'error' && f.id === 1);
  assert.equal(h.server.stats().protocolErrors, 0);
});
