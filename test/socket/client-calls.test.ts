import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import type { CallContext } from '../../src/daemon/coordinator/coordinator';
import { createLogger } from '../../src/daemon/logger';
import { SocketServer } from '../../src/daemon/socket/socket-server';
import { ClosedError, StorageError } from '../../src/protocol/errors';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame-codec';
import { MAX_IN_FLIGHT_PER_CONNECTION } from '../../src/protocol/limits';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { MemoryCoordinator } from './memory-coordinator';
import { eventually, startServer, tempSocketDir } from './socket-harness';

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<StorageError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, code, `${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
  return caught as StorageError;
}

test('every method round-trips through the daemon', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const stored = await client.storePhoto(Buffer.from('hello bytes'), { originalName: 'sunset.png', clientId: 'acme', userId: 'u1' });
  assert.equal(stored.size, 11);
  const photo = await client.getPhoto(stored.id);
  assert.equal(photo.original_filename, 'sunset.png');
  assert.equal(await client.getPhotoUrl(stored.id, 60), `http://blobs/${stored.id}?expires=60`);
  assert.equal(await client.getPhotoUrl(stored.id), `http://blobs/${stored.id}?expires=3600`);
  assert.equal((await client.updatePhotoMetadata(stored.id, { width: 640 })).width, 640);
  assert.equal((await client.searchPhotos({ query: 'sun' })).total, 1);
  assert.equal((await client.getUserPhotos('u1', { limit: 5 })).pagination.total, 1);
  assert.equal(await client.deletePhoto(stored.id), undefined);
  await rejectsWith(client.getPhoto(stored.id), 'NOT_FOUND', /not found/);
  assert.ok(h.coordinator.calls.every((c) => c.clientId === 'acme'));
  // All of it on one connection.
  assert.equal(h.server.stats().connections, 1);
  // Undefined arguments are left out, not sent as msgpack "undefined".
  const urlCall = h.coordinator.calls.filter((c) => c.op === 'getPhotoUrl')[1]!;
  assert.deepEqual(urlCall.args, [stored.id, undefined]);
});

test('a storePhoto for another clientId is refused locally', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  await rejectsWith(client.storePhoto(Buffer.from('x'), { originalName: 'a.png', clientId: 'other' }), 'VALIDATION', /differs/);
  assert.equal(h.server.stats().callsTotal, 0);
  assert.equal(h.server.stats().connections, 0, 'nothing was even connected');
});

test('bad constructor options throw TypeError/RangeError', () => {
  assert.throws(() => new StorageClient({ socketPath: '', clientId: 'a' }), TypeError);
  assert.throws(() => new StorageClient({ socketPath: '/x', clientId: 'a b' }), /may contain only/);
  assert.throws(() => new StorageClient({ socketPath: '/x', clientId: 'a', callTimeoutMs: 0 }), RangeError);
});

// A timer cannot wait longer than 2^31-1 ms: Node fires a longer one after 1 ms.
// The sidecar took any callTimeoutMs, so a 30-day one made every call a TIMEOUT
// at once; the remote client and the per-call timeoutMs already stop at 24 h.
test('a callTimeoutMs or connectTimeoutMs past 24 h is refused, as the remote client and timeoutMs refuse it', () => {
  const month = 30 * 24 * 3600 * 1000;
  assert.throws(() => new StorageClient({ socketPath: '/x', clientId: 'a', callTimeoutMs: month }), /callTimeoutMs must be a positive number of milliseconds up to 86400000/);
  assert.throws(() => new StorageClient({ socketPath: '/x', clientId: 'a', connectTimeoutMs: month }), RangeError);
  assert.throws(() => new StorageClient({ url: 'http://127.0.0.1:1', token: 'tok-0123456789abcdef', callTimeoutMs: month }), /up to 86400000/);
  assert.ok(new StorageClient({ socketPath: '/x', clientId: 'a', callTimeoutMs: 24 * 3600 * 1000 }));
});

test('no daemon listening is UNAVAILABLE', async (t) => {
  const client = new StorageClient({ socketPath: path.join(tempSocketDir(t), 'none.sock'), clientId: 'acme' });
  await rejectsWith(client.getPhoto('x'), 'UNAVAILABLE', /not listening/);
});

test('a call that outlives callTimeoutMs fails with TIMEOUT; its late answer is dropped quietly', async (t) => {
  const h = await startServer(t);
  let release!: () => void;
  let signal!: AbortSignal;
  h.coordinator.getPhoto = async (ctx: CallContext) => {
    signal = ctx.signal;
    await new Promise<void>((resolve) => (release = resolve));
    return { id: 'late' } as never;
  };
  const client = h.client('acme', { callTimeoutMs: 100 });
  await rejectsWith(client.getPhoto('slow'), 'TIMEOUT', /getPhoto got no answer within 100 ms/);
  // The client told the daemon it gave up.
  await eventually(() => signal.aborted, 5000, 'ctx.signal aborted');
  release();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await client.searchPhotos({})).total, 0);
  assert.equal(h.server.stats().connections, 1, 'same connection still in use');
  assert.equal(h.server.stats().protocolErrors, 0);
});

test('a lost connection fails calls in flight with CLOSED; the next call reconnects', async (t) => {
  const socketPath = path.join(tempSocketDir(t), 's.sock');
  const coordinator = new MemoryCoordinator();
  coordinator.getPhoto = () => new Promise(() => undefined);
  const logger = createLogger('silent');
  const first = new SocketServer({ path: socketPath, coordinator, logger, maxBodyBytes: 1000, version: 'a', closeTimeoutMs: 50 });
  await first.listen();
  // The transport's own behaviour: a cached search would (rightly) answer without it, and a retry would hide the CLOSED.
  const client = new StorageClient({ socketPath, clientId: 'acme', cacheConfig: { enabled: false }, retry: false });
  t.after(() => client.close());
  assert.equal((await client.searchPhotos({})).total, 0);
  const hanging = client.getPhoto('never');
  await eventually(() => first.stats().callsInFlight === 1);
  const closing = first.close();
  const err = await rejectsWith(hanging, 'CLOSED');
  assert.ok(err instanceof ClosedError);
  assert.equal(err.retryable, true);
  await closing;
  await rejectsWith(client.searchPhotos({}), 'UNAVAILABLE');

  const second = new SocketServer({ path: socketPath, coordinator: new MemoryCoordinator(), logger, maxBodyBytes: 1000, version: 'b' });
  await second.listen();
  t.after(() => second.close());
  assert.equal((await client.searchPhotos({})).total, 0);
  assert.equal(second.stats().connections, 1);
});

test('an answer to an id never sent drops the connection with PROTOCOL', async (t) => {
  const socketPath = path.join(tempSocketDir(t), 'liar.sock');
  const liar = net.createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const m of decoder.push(chunk) as Array<Record<string, unknown>>) {
        if (m.t === 'hello') {
          const limits = { maxFrameBytes: 1 << 20, chunkBytes: 1 << 18, maxInFlight: 8, uploadWindowChunks: 8, maxBodyBytes: 1 << 20 };
          socket.write(encodeFrame({ t: 'hello', version: 1, server: 'liar', limits }));
        } else if (m.t === 'call') {
          socket.write(encodeFrame({ t: 'result', id: (m.id as number) + 1000, value: 'not yours' }));
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => liar.listen(socketPath, resolve));
  t.after(() => liar.close());
  const client = new StorageClient({ socketPath, clientId: 'acme' });
  t.after(() => client.close());
  await rejectsWith(client.getPhoto('x'), 'PROTOCOL', /not in flight/);
});

test('200 calls at once on one client are all answered, each with its own result', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const ids = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.storePhoto(Buffer.from(`photo ${i}`), { originalName: `n${i}.png`, clientId: 'acme' })),
  );
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => client.getPhoto(ids[i % 20]!.id)));
  answers.forEach((photo, i) => assert.equal(photo.original_filename, `n${i % 20}.png`));
  assert.equal(h.server.stats().connections, 1);
});

test('calls beyond the daemon in-flight limit wait on the client instead of failing', async (t) => {
  const h = await startServer(t);
  let open = 0;
  let peak = 0;
  h.coordinator.getPhotoUrl = async () => {
    open += 1;
    peak = Math.max(peak, open);
    await new Promise((r) => setTimeout(r, 20));
    open -= 1;
    return 'u';
  };
  const client = h.client('acme');
  const all = await Promise.all(Array.from({ length: MAX_IN_FLIGHT_PER_CONNECTION + 100 }, () => client.getPhotoUrl('x')));
  assert.equal(all.length, MAX_IN_FLIGHT_PER_CONNECTION + 100);
  assert.ok(peak <= MAX_IN_FLIGHT_PER_CONNECTION, `peak ${peak}`);
});

test('an idle client does not keep its process alive', async (t) => {
  const h = await startServer(t);
  const clientModule = path.resolve(__dirname, '../../src/sidecar-client/storage-client.js');
  const script = `
    const { StorageClient } = require(${JSON.stringify(clientModule)});
    const c = new StorageClient({ socketPath: ${JSON.stringify(h.socketPath)}, clientId: 'acme' });
    c.searchPhotos({}).then((r) => console.log('total', r.total));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, 'exited by itself');
  assert.match(out, /total 0/);
});

test('close() waits for calls in flight, then later calls fail with CLOSED', async (t) => {
  const h = await startServer(t);
  h.coordinator.getPhotoUrl = async () => {
    await new Promise((r) => setTimeout(r, 50));
    return 'done';
  };
  const client = h.client('acme');
  const inFlight = client.getPhotoUrl('x');
  await eventually(() => h.server.stats().callsInFlight === 1);
  await client.close();
  assert.equal(await inFlight, 'done');
  await rejectsWith(client.getPhotoUrl('x'), 'CLOSED');
  // getPhoto is not an async function: a closed client must still reject, not throw.
  await rejectsWith(client.getPhoto('x'), 'CLOSED');
});

test('arguments larger than a call header are refused locally with TOO_LARGE', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  await rejectsWith(client.searchPhotos({ query: 'x'.repeat(100 * 1024) }), 'TOO_LARGE', /too large/);
  await rejectsWith(client.searchPhotos({ query: 'x'.repeat(2 * 1024 * 1024) }), 'TOO_LARGE', /too large/);
  assert.equal(h.server.stats().callsTotal, 0);
  assert.equal((await client.searchPhotos({})).total, 0);
});

// A daemon that stops answering (a hung blob store or catalog) keeps every slot
// of the connection; calls beyond them wait on the client. One that timed out
// while waiting stayed counted as waiting, so close() waited for a slot that
// never came, and the socket stayed ref'd, holding the process alive.
test('calls that time out waiting for a slot of a hung daemon leave close() free to end', async (t) => {
  const h = await startServer(t, { server: { closeTimeoutMs: 50 } });
  h.coordinator.getPhotoUrl = () => new Promise(() => undefined);
  const client = h.client('acme', { retry: false, cacheConfig: { enabled: false } });
  const calls = Array.from({ length: MAX_IN_FLIGHT_PER_CONNECTION + 1 }, (_, i) => client.getPhotoUrl(`x${i}`, undefined, { timeoutMs: 100 }));
  for (const call of calls) await rejectsWith(call, 'TIMEOUT');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    client.close().then(() => 'closed'),
    new Promise((resolve) => (timer = setTimeout(() => resolve('close() still waiting after 3 s'), 3000))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'closed');
});
