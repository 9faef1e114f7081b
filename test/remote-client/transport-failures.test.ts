// What the remote client throws when the trouble is below the gateway's JSON
// errors: nobody listening, nobody answering, a proxy's page, a cut download,
// a closed client. Each becomes a storaged error class with its code.

import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { RemoteClient } from '../../src/remote-client';
import { StorageError } from '../../src/protocol/errors';
import { rejectsWithCode } from '../support/expect-code';
import { freePort } from '../support/free-port';
import { pngBytes } from '../support/image-bytes';
import { waitFor } from '../support/wait-for';
import { cannedServer, sendJson } from './canned-server';

const TOKEN = 'tok-0123456789abcdef';
const ID = '00000000-0000-4000-8000-000000000000';

function client(t: { after(fn: () => Promise<void>): void }, url: string, extra: Record<string, unknown> = {}): RemoteClient {
  const c = new RemoteClient({ url, token: TOKEN, ...extra });
  t.after(() => c.close());
  return c;
}

test('nobody listening: UNAVAILABLE, marked retryable', async (t) => {
  const c = client(t, `http://127.0.0.1:${await freePort()}`);
  await assert.rejects(c.getPhoto(ID), (err: unknown) => {
    assert.ok(err instanceof StorageError);
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.match(err.message, /could not be reached/);
    assert.ok(!err.message.includes(TOKEN));
    return true;
  });
});

test('a gateway that never answers: TIMEOUT after callTimeoutMs', async (t) => {
  const server = await cannedServer(t, () => undefined);
  const c = client(t, server.url, { callTimeoutMs: 200 });
  await rejectsWithCode(c.getPhoto(ID), 'TIMEOUT', /getPhoto got no answer within 200 ms/);
  await rejectsWithCode(c.readPhoto(ID), 'TIMEOUT', /readPhoto/);
  await rejectsWithCode(c.storePhoto(pngBytes(1000), { originalName: 'a.png', clientId: 'acme' }), 'TIMEOUT');
});

test('an error answer without the JSON shape is classed by its status', async (t) => {
  const statuses = [502, 500, 401, 413, 418];
  let i = 0;
  const server = await cannedServer(t, (_req, res) => {
    res.writeHead(statuses[i++]!, { 'content-type': 'text/html', 'x-request-id': 'req-7' });
    res.end('<html>Bad Gateway</html>');
  });
  const c = client(t, server.url);
  await rejectsWithCode(c.getPhoto(ID), 'UNAVAILABLE', /HTTP 502 without an error body \(request id req-7\)/);
  await rejectsWithCode(c.getPhoto(ID), 'INTERNAL', /HTTP 500/);
  await rejectsWithCode(c.getPhoto(ID), 'UNAUTHORIZED', /HTTP 401/);
  await rejectsWithCode(c.getPhoto(ID), 'TOO_LARGE', /HTTP 413/);
  await rejectsWithCode(c.getPhoto(ID), 'PROTOCOL', /HTTP 418/);
});

test('a JSON error body becomes its class, with the request id in details', async (t) => {
  const server = await cannedServer(t, (_req, res) =>
    sendJson(res, 409, { error: { code: 'CONFLICT', message: 'cannot go from completed to queued', requestId: 'r-1' } }, { 'x-request-id': 'r-1' }),
  );
  const c = client(t, server.url);
  await assert.rejects(c.updatePhotoMetadata(ID, { processing_status: 'queued' }), (err: unknown) => {
    assert.equal((err as Error).name, 'ConflictError');
    assert.equal((err as StorageError).code, 'CONFLICT');
    assert.equal((err as Error).message, 'cannot go from completed to queued');
    assert.deepEqual((err as StorageError).details, { requestId: 'r-1' });
    return true;
  });
});

test('a download cut short fails its stream with UNAVAILABLE', async (t) => {
  const server = await cannedServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100_000, etag: `"${'a'.repeat(64)}"` });
    res.write(Buffer.alloc(10_000));
    setImmediate(() => res.destroy());
  });
  const c = client(t, server.url);
  const download = await c.readPhoto(ID);
  assert.equal(download.info.size, 100_000);
  await assert.rejects(
    (async () => {
      for await (const _chunk of download.body);
    })(),
    (err: unknown) => {
      assert.equal((err as StorageError).code, 'UNAVAILABLE');
      return true;
    },
  );
});

// As the sidecar client does: the caller's abort after the head ends the
// download with the signal's own reason, not an INTERNAL "readPhoto failed".
test('aborting a download after its head fails the reader with the reason', async (t) => {
  let closed = false;
  const server = await cannedServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10_000_000, etag: `"${'a'.repeat(64)}"` });
    res.write(Buffer.alloc(10_000));
    res.on('close', () => (closed = true));
  });
  const c = client(t, server.url);
  const controller = new AbortController();
  const download = await c.readPhoto(ID, undefined, { signal: controller.signal });
  const reason = new Error('the user went away');
  const failure = new Promise<unknown>((resolve) => download.body.once('error', resolve));
  controller.abort(reason);
  assert.equal(await failure, reason);
  while (!closed) await new Promise((r) => setTimeout(r, 5));
});

// undici's bodyTimeout stops counting while a body is paused, so a download
// nobody read held its connection for good; callTimeoutMs now bounds the
// reader's silence, as on the socket.
test('a download nobody reads fails with TIMEOUT after callTimeoutMs and lets its connection go', async (t) => {
  let closed = false;
  const server = await cannedServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 64_000_000, etag: `"${'a'.repeat(64)}"` });
    const piece = Buffer.alloc(64 * 1024);
    const pump = () => {
      while (!res.destroyed && res.write(piece));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.on('close', () => (closed = true));
  });
  const c = client(t, server.url, { callTimeoutMs: 300 });
  const download = await c.readPhoto(ID);
  let failure: StorageError | null = null;
  download.body.once('error', (err) => (failure = err as StorageError));
  await waitFor(() => failure !== null && closed, 'the unread download to fail and its connection to close', 5000);
  assert.equal(failure!.code, 'TIMEOUT');
});

test('a content answer without an ETag is a PROTOCOL error', async (t) => {
  const server = await cannedServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 3 });
    res.end('abc');
  });
  const c = client(t, server.url);
  await rejectsWithCode(c.readPhoto(ID), 'PROTOCOL', /no etag header/);
});

test("the caller's failing stream: its own error comes back", async (t) => {
  const server = await cannedServer(t, (_req, res) => sendJson(res, 201, {}));
  const c = client(t, server.url);
  const mine = new Error('disk read failed');
  const body = new Readable({ read() { this.destroy(mine); } });
  await assert.rejects(c.storePhoto(body, { originalName: 'a.png', clientId: 'acme' }), (err: unknown) => err === mine);
});

test('close lets a call in flight finish; later calls fail with CLOSED', async (t) => {
  let release: () => void = () => undefined;
  const server = await cannedServer(t, (_req, res) => {
    release = () => sendJson(res, 200, { id: ID });
  });
  const c = client(t, server.url);
  const inFlight = c.getPhoto(ID);
  while (server.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  const closed = c.close();
  await rejectsWithCode(c.getPhoto(ID), 'CLOSED');
  release();
  assert.equal((await inFlight).id, ID);
  await closed;
  await rejectsWithCode(c.searchPhotos({}), 'CLOSED');
});
