import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEADER_BYTES, MAX_IN_FLIGHT_PER_CONNECTION } from '../../src/protocol/limits';
import { InternalError, NotFoundError } from '../../src/protocol/errors';
import type { CallContext } from '../../src/daemon/coordinator/coordinator';
import { MemoryCoordinator } from './memory-coordinator';
import { eventually, rawConnection, startServer } from './socket-harness';

/** A coordinator whose getPhoto waits until the test releases that id. */
class HeldCoordinator extends MemoryCoordinator {
  readonly held = new Map<string, () => void>();
  readonly signals = new Map<string, AbortSignal>();
  override async getPhoto(ctx: CallContext, id: unknown) {
    this.signals.set(String(id), ctx.signal);
    await new Promise<void>((resolve) => this.held.set(String(id), resolve));
    if (id === 'missing') throw new NotFoundError('photo missing not found');
    return { id: String(id), client: ctx.clientId } as never;
  }
}

test('each op reaches the coordinator with its arguments and the connection clientId', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath, { clientId: 'tenant-7' });
  const calls: Array<[string, Record<string, unknown>, unknown[]]> = [
    ['getPhoto', { id: 'a' }, ['a']],
    ['getPhotoUrl', { id: 'a', expirySeconds: 60 }, ['a', 60]],
    ['updatePhotoMetadata', { id: 'a', patch: { width: 3 } }, ['a', { width: 3 }]],
    ['deletePhoto', { id: 'a' }, ['a']],
    ['searchPhotos', { query: { query: 'x' } }, [{ query: 'x' }]],
    ['getUserPhotos', { userId: 'u', options: { limit: 2 } }, ['u', { limit: 2 }]],
  ];
  calls.forEach(([op, args], i) => c.send({ t: 'call', id: i + 1, op, args }));
  for (let i = 0; i < calls.length; i++) await c.waitFor((f) => f.id === i + 1);
  assert.deepEqual(
    h.coordinator.calls.map((r) => [r.op, r.clientId, r.args]),
    calls.map(([op, , args]) => [op, 'tenant-7', args]),
  );
  // getPhoto of an unknown photo: the coordinator's NotFoundError comes back as a typed error.
  const answer = await c.waitFor((f) => f.id === 1);
  assert.deepEqual(answer, { t: 'error', id: 1, error: { code: 'NOT_FOUND', message: 'photo a not found' } });
  assert.equal((await c.waitFor((f) => f.id === 5)).t, 'result');
  assert.equal(h.server.stats().callsTotal, calls.length);
});

test('concurrent calls on one connection are answered out of order, by id', async (t) => {
  const coordinator = new HeldCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  for (const [id, photo] of [[1, 'first'], [2, 'second'], [3, 'missing']] as const) {
    c.send({ t: 'call', id, op: 'getPhoto', args: { id: photo } });
  }
  await eventually(() => coordinator.held.size === 3, 5000, 'three calls held');
  assert.equal(h.server.stats().callsInFlight, 3);
  coordinator.held.get('missing')!();
  coordinator.held.get('second')!();
  await c.waitFor((f) => f.id === 2);
  coordinator.held.get('first')!();
  await c.waitFor((f) => f.id === 1);
  assert.deepEqual(
    c.frames.filter((f) => f.t !== 'hello').map((f) => [f.id, f.t]),
    [[3, 'error'], [2, 'result'], [1, 'result']],
  );
  assert.deepEqual(c.frames.find((f) => f.id === 1)!.value, { id: 'first', client: 'acme' });
  await eventually(() => h.server.stats().callsInFlight === 0);
});

test('an unknown op is answered with VALIDATION and the connection stays', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'dropDatabase', args: {} });
  const answer = await c.waitFor((f) => f.id === 1);
  assert.equal(answer.t, 'error');
  assert.equal((answer.error as { code: string }).code, 'VALIDATION');
  assert.match((answer.error as { message: string }).message, /unknown op "dropDatabase"/);
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: {} } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
});

test('a malformed frame closes only its own connection', async (t) => {
  const h = await startServer(t);
  const healthy = await rawConnection(t, h.socketPath);
  const broken = await rawConnection(t, h.socketPath);
  broken.socket.write(Buffer.from([0x00, 0x00, 0x00, 0x04, 0xc1, 0xc1, 0xc1, 0xc1]));
  const fatal = await broken.waitFor((f) => f.t === 'fatal');
  assert.equal((fatal.error as { code: string }).code, 'PROTOCOL');
  await broken.closed;
  healthy.send({ t: 'call', id: 1, op: 'searchPhotos', args: { query: {} } });
  assert.equal((await healthy.waitFor((f) => f.id === 1)).t, 'result');
  assert.equal(h.server.stats().protocolErrors, 1);
  assert.equal(h.server.stats().connections, 1);
});

test('a well-framed message of the wrong shape closes the connection', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 'one', op: 'getPhoto', args: {} });
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /`id`/);
  await c.closed;
});

test('an oversized length prefix closes the connection without buffering', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath);
  c.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
  const fatal = await c.waitFor((f) => f.t === 'fatal');
  assert.match((fatal.error as { message: string }).message, /exceeds the limit/);
  await c.closed;
});

test('a duplicate id among calls in flight closes the connection', async (t) => {
  const coordinator = new HeldCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'a' } });
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'b' } });
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /already in flight/);
  await c.closed;
  // The held call was told its caller is gone.
  await eventually(() => coordinator.signals.get('a')?.aborted === true, 5000, 'signal aborted');
});

test('calls beyond the in-flight limit get TOO_MANY_IN_FLIGHT, and the connection stays', async (t) => {
  const coordinator = new HeldCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath);
  for (let id = 1; id <= MAX_IN_FLIGHT_PER_CONNECTION + 1; id++) c.send({ t: 'call', id, op: 'getPhoto', args: { id: `p${id}` } });
  const refused = await c.waitFor((f) => f.id === MAX_IN_FLIGHT_PER_CONNECTION + 1);
  assert.equal((refused.error as { code: string }).code, 'TOO_MANY_IN_FLIGHT');
  await eventually(() => coordinator.held.size === MAX_IN_FLIGHT_PER_CONNECTION);
  coordinator.held.get('p1')!();
  await c.waitFor((f) => f.id === 1);
  // One slot is free again.
  c.send({ t: 'call', id: 10_000, op: 'getPhoto', args: { id: 'late' } });
  await eventually(() => coordinator.held.has('late'));
  for (const release of coordinator.held.values()) release();
  await c.waitFor((f) => f.id === 10_000);
});

test('a call header over MAX_HEADER_BYTES is refused with TOO_LARGE', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'searchPhotos', args: { query: { query: 'x'.repeat(MAX_HEADER_BYTES) } } });
  assert.equal(((await c.waitFor((f) => f.id === 1)).error as { code: string }).code, 'TOO_LARGE');
  assert.equal(h.coordinator.calls.length, 0);
});

test('an internal error is logged with its stack and sent without internals', async (t) => {
  const h = await startServer(t);
  h.coordinator.getPhoto = async () => {
    throw new Error('db password is hunter2');
  };
  h.coordinator.deletePhoto = () => {
    throw new InternalError('explicitly internal');
  };
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'x' } });
  c.send({ t: 'call', id: 2, op: 'deletePhoto', args: { id: 'x' } });
  assert.deepEqual((await c.waitFor((f) => f.id === 1)).error, { code: 'INTERNAL', message: 'internal error' });
  assert.equal(((await c.waitFor((f) => f.id === 2)).error as { code: string }).code, 'INTERNAL');
  const logged = h.logs.find((l) => l.msg === 'call failed with an internal error' && l.op === 'getPhoto');
  assert.ok(logged, 'internal error logged');
  assert.match(String((logged.err as { stack: string }).stack), /hunter2/);
  assert.ok(!JSON.stringify(c.frames).includes('hunter2'));
});

test('an answer too large for one frame becomes TOO_LARGE', async (t) => {
  const h = await startServer(t);
  h.coordinator.searchPhotos = async () => ({ blob: 'x'.repeat(2 * 1024 * 1024) }) as never;
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'searchPhotos', args: { query: {} } });
  const answer = await c.waitFor((f) => f.id === 1);
  assert.equal((answer.error as { code: string }).code, 'TOO_LARGE');
  c.send({ t: 'call', id: 2, op: 'getUserPhotos', args: { userId: 'u' } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
});

test('close() lets calls in flight finish, then ends connections and removes the socket', async (t) => {
  const coordinator = new HeldCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'slow' } });
  await eventually(() => coordinator.held.has('slow'));
  const closing = h.server.close();
  // New calls on the draining connection are refused, retryably.
  c.send({ t: 'call', id: 2, op: 'getPhoto', args: { id: 'other' } });
  assert.equal(((await c.waitFor((f) => f.id === 2)).error as { code: string }).code, 'UNAVAILABLE');
  setTimeout(() => coordinator.held.get('slow')!(), 50);
  assert.equal((await c.waitFor((f) => f.id === 1)).t, 'result');
  await c.closed;
  await closing;
  const fs = await import('node:fs');
  assert.equal(fs.existsSync(h.socketPath), false);
});

test('close() cuts connections whose calls outlast the close timeout', async (t) => {
  const coordinator = new HeldCoordinator();
  const h = await startServer(t, { coordinator, server: { closeTimeoutMs: 100 } });
  const c = await rawConnection(t, h.socketPath);
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'forever' } });
  await eventually(() => coordinator.held.has('forever'));
  const started = Date.now();
  const closing = h.server.close();
  await c.closed;
  coordinator.held.get('forever')!();
  await closing;
  assert.ok(Date.now() - started < 2000);
});

test('a client that does not read its answers stops being read (back-pressure)', async (t) => {
  const h = await startServer(t);
  const answer = 'x'.repeat(512 * 1024);
  h.coordinator.searchPhotos = async () => answer as never;
  const c = await rawConnection(t, h.socketPath);
  c.socket.pause();
  for (let id = 1; id <= 60; id++) {
    c.send({ t: 'call', id, op: 'searchPhotos', args: { query: {} } });
    await new Promise((r) => setTimeout(r, 3));
  }
  await new Promise((r) => setTimeout(r, 100));
  const readWhilePaused = h.server.stats().callsTotal;
  assert.ok(readWhilePaused < 60, `server kept reading calls: ${readWhilePaused}`);
  t.diagnostic(`calls read while the client was not reading: ${readWhilePaused}`);
  c.socket.resume();
  await c.waitFor((f) => f.id === 60, 10_000);
  assert.equal(h.server.stats().callsTotal, 60);
});

test('daemonStats on a coordinator that keeps no figures answers UNAVAILABLE, and the connection goes on', async (t) => {
  const h = await startServer(t);
  const c = await rawConnection(t, h.socketPath, { clientId: 'ops' });
  c.send({ t: 'call', id: 1, op: 'daemonStats', args: {} });
  assert.deepEqual(await c.waitFor((f) => f.id === 1), { t: 'error', id: 1, error: { code: 'UNAVAILABLE', message: 'this daemon keeps no figures' } });
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: { query: 'x' } } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
});
