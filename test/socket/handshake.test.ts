import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_IN_FLIGHT_PER_CONNECTION, UPLOAD_WINDOW_CHUNKS } from '../../src/protocol/limits';
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
