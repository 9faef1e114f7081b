// readPhoto over the socket: the bytes arrive exact, in ranges, at the
// reader's pace, and a reader that stops or vanishes stops the daemon's side.

import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { CallContext, PhotoContent } from '../../src/daemon/coordinator/coordinator';
import { CHUNK_BYTES, DOWNLOAD_WINDOW_CHUNKS, MAX_CREDIT_CHUNKS } from '../../src/protocol/limits';
import { UnavailableError } from '../../src/protocol/errors';
import { rejectsWithCode } from '../support/expect-code';
import { MemoryCoordinator } from './memory-coordinator';
import { eventually, rawConnection, startServer } from './socket-harness';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Serves one endless-enough photo from a stream that counts what the daemon pulled from it. */
class CountingCoordinator extends MemoryCoordinator {
  readonly state = { pulled: 0, destroyed: false };
  constructor(readonly total: number) {
    super();
  }
  override async readPhoto(_ctx: CallContext, id: unknown): Promise<PhotoContent> {
    const state = this.state;
    const total = this.total;
    const piece = Buffer.alloc(64 * 1024, 7);
    const body = new Readable({
      read() {
        if (state.pulled >= total) return void this.push(null);
        const next = piece.subarray(0, Math.min(piece.length, total - state.pulled));
        state.pulled += next.length;
        this.push(next);
      },
      destroy(err, cb) {
        state.destroyed = true;
        cb(err);
      },
    });
    const info = { id: String(id), mime_type: 'image/png', original_filename: 'x.png', checksum: '', size: total, start: 0, end: total - 1, length: total };
    return { info, body };
  }
}

test('a photo reads back whole and in ranges, byte for byte, with its info', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const bytes = randomBytes(3 * CHUNK_BYTES + 1234);
  const stored = await client.storePhoto(bytes, { originalName: 'r.png', clientId: 'acme' });

  const whole = await client.readPhoto(stored.id);
  assert.equal(whole.info.size, bytes.length);
  assert.equal(whole.info.length, bytes.length);
  assert.equal(whole.info.checksum, sha256(bytes));
  assert.equal(sha256(await readAll(whole.body)), sha256(bytes));

  for (const [start, end] of [[0, 0], [5, 9], [CHUNK_BYTES - 1, 2 * CHUNK_BYTES], [bytes.length - 1, bytes.length - 1]] as const) {
    const part = await client.readPhoto(stored.id, { start, end });
    assert.deepEqual([part.info.start, part.info.end, part.info.length], [start, end, end - start + 1]);
    assert.ok((await readAll(part.body)).equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
  }
  const tail = await client.readPhoto(stored.id, { start: bytes.length - 10, end: bytes.length + 1000 });
  assert.equal(tail.info.end, bytes.length - 1, 'an end past the last byte is clamped');
  assert.ok((await readAll(tail.body)).equals(bytes.subarray(bytes.length - 10)));
});

test('a range starting past the end, a bad range and a foreign photo answer with their codes', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const stored = await client.storePhoto(randomBytes(100), { originalName: 'r.png', clientId: 'acme' });
  await rejectsWithCode(client.readPhoto(stored.id, { start: 100 }), 'RANGE_NOT_SATISFIABLE', /100 bytes/);
  await rejectsWithCode(client.readPhoto(stored.id, { start: 9, end: 3 }), 'VALIDATION');
  await rejectsWithCode(h.client('other').readPhoto(stored.id), 'NOT_FOUND');
  // The connection is still fine.
  assert.equal((await readAll((await client.readPhoto(stored.id)).body)).length, 100);
});

test('a reader that does not read holds the daemon to a bounded read-ahead', async (t) => {
  const total = 64 * 1024 * 1024;
  const coordinator = new CountingCoordinator(total);
  const h = await startServer(t, { coordinator });
  const download = await h.client('acme').readPhoto('p1');
  // The blob stream yields 64 KiB pieces, one chunk frame each.
  await eventually(() => coordinator.state.pulled >= DOWNLOAD_WINDOW_CHUNKS * 64 * 1024, 5000, 'the window to fill');
  // Give the daemon every chance to run ahead; it must stop at the credit it has.
  await new Promise((r) => setTimeout(r, 300));
  // Window in flight + the client's read-ahead buffer + what the blob stream buffers itself.
  const bound = DOWNLOAD_WINDOW_CHUNKS * CHUNK_BYTES + 1024 * 1024 + 4 * CHUNK_BYTES;
  assert.ok(coordinator.state.pulled <= bound, `pulled ${coordinator.state.pulled} bytes while nobody read; bound ${bound}`);
  const all = await readAll(download.body);
  assert.equal(all.length, total);
  assert.equal(coordinator.state.pulled, total);
});

test('a reader that stops early stops the daemon, and the client keeps working', async (t) => {
  const coordinator = new CountingCoordinator(64 * 1024 * 1024);
  const h = await startServer(t, { coordinator });
  const client = h.client('acme');
  const download = await client.readPhoto('p1');
  let seen = 0;
  for await (const part of download.body) {
    seen += (part as Buffer).length;
    if (seen > 3 * CHUNK_BYTES) break;
  }
  await eventually(() => coordinator.state.destroyed, 5000, 'the daemon to drop the blob stream');
  assert.ok(coordinator.state.pulled < 16 * 1024 * 1024);
  const stored = await client.storePhoto(randomBytes(10), { originalName: 'after.png', clientId: 'acme' });
  assert.equal((await client.getPhoto(stored.id)).id, stored.id);
});

test('a download cut by the daemon shutting down fails the reader with CLOSED', async (t) => {
  const coordinator = new CountingCoordinator(64 * 1024 * 1024);
  const h = await startServer(t, { coordinator });
  const download = await h.client('acme').readPhoto('p1');
  await eventually(() => coordinator.state.pulled > 0);
  download.body.pause();
  const failure = new Promise<unknown>((resolve) => download.body.once('error', resolve));
  // Shutdown lets calls finish for closeTimeoutMs, then cuts the connections: this reader is not reading.
  await h.server.close();
  assert.equal(((await failure) as { code?: string }).code, 'CLOSED');
  assert.ok(coordinator.state.destroyed);
});

test('closing the client ends a download nobody reads instead of waiting for it', async (t) => {
  const coordinator = new CountingCoordinator(64 * 1024 * 1024);
  const h = await startServer(t, { coordinator });
  const client = h.client('acme');
  const download = await client.readPhoto('p1');
  const failure = readAll(download.body).then(
    () => null,
    (err: unknown) => err,
  );
  await client.close();
  assert.equal(((await failure) as { code?: string } | null)?.code, 'CLOSED');
  await eventually(() => coordinator.state.destroyed, 5000, 'the daemon to drop the blob stream');
});

test('credit for a call that sends no download, or too much credit, closes only that connection', async (t) => {
  const h = await startServer(t);
  const healthy = h.client('acme');
  const stored = await healthy.storePhoto(randomBytes(10), { originalName: 'a.png', clientId: 'acme' });

  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'x.png', clientId: 'acme' } } });
  c.send({ t: 'credit', id: 1, chunks: 1 });
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /sends no download/);

  const d = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  d.send({ t: 'credit', id: 1, chunks: MAX_CREDIT_CHUNKS + 1 });
  assert.equal(((await d.waitFor((f) => f.t === 'fatal')).error as { code: string }).code, 'PROTOCOL');

  assert.equal((await healthy.getPhoto(stored.id)).id, stored.id);
});

// A client grants one chunk per chunk it has read, so the daemon never holds
// more than the window of credit. Credit granted ahead (up to 1024 chunks per
// frame, frame after frame) let a tenant that does not read make the daemon
// push a whole photo into the socket's memory, on each of 256 calls at once.
test('credit beyond the download window is a protocol error, not a licence to queue the whole photo', async (t) => {
  const total = 64 * 1024 * 1024;
  const coordinator = new CountingCoordinator(total);
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'readPhoto', args: { id: 'p1' } });
  c.send({ t: 'credit', id: 1, chunks: MAX_CREDIT_CHUNKS });
  const fatal = await c.waitFor((f) => f.t === 'fatal');
  const error = fatal.error as { code: string; message: string };
  assert.equal(error.code, 'PROTOCOL');
  assert.match(error.message, new RegExp(`beyond the download window of ${DOWNLOAD_WINDOW_CHUNKS} chunks`));
  await c.closed;
  await eventually(() => coordinator.state.destroyed, 5000, 'the blob stream to be destroyed');
  assert.ok(coordinator.state.pulled < total, `pulled ${coordinator.state.pulled} of ${total} bytes`);
});

// The daemon answers a download whose blob stream fails after its head with an
// error frame for that call alone (open-calls.ts #stream). The client took any
// error after a head for a protocol break and dropped the whole connection,
// failing every other call on it with PROTOCOL instead of the one reader with
// the daemon's code.
test('a download that fails after its head fails its reader with the daemon code; other calls go on', async (t) => {
  class FailingCoordinator extends MemoryCoordinator {
    override async readPhoto(_ctx: CallContext, id: unknown): Promise<PhotoContent> {
      let sent = 0;
      const body = new Readable({
        read() {
          if (sent >= 2) return void this.destroy(new UnavailableError('the blob store stopped answering mid-read'));
          sent += 1;
          this.push(Buffer.alloc(64 * 1024, 1));
        },
      });
      const total = 1024 * 1024;
      const info = { id: String(id), mime_type: 'image/png', original_filename: 'x.png', checksum: '', size: total, start: 0, end: total - 1, length: total };
      return { info, body };
    }
  }
  const coordinator = new FailingCoordinator();
  const h = await startServer(t, { coordinator });
  const client = h.client('acme', { retry: false });
  const stored = await client.storePhoto(randomBytes(10), { originalName: 'other.png', clientId: 'acme' });
  // A second call in flight on the same connection while the download fails.
  const slow = coordinator.getPhoto.bind(coordinator);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  coordinator.getPhoto = async (ctx, id) => {
    await held;
    return slow(ctx, id);
  };
  const other = client.getPhoto(stored.id);
  const download = await client.readPhoto('p-any');
  const failure = await readAll(download.body).then(
    () => null,
    (err: unknown) => err as { code?: string; retryable?: boolean },
  );
  assert.equal(failure?.code, 'UNAVAILABLE', `the reader gets the daemon's code, got ${JSON.stringify(failure)}`);
  assert.equal(failure?.retryable, true);
  release();
  assert.equal((await other).id, stored.id, 'the call in flight beside the download is answered');
});

// The call's signal abandons the call; for a download that is the bytes too.
// Once the head had come, the sidecar client stopped listening to the signal:
// an abort changed nothing, and a download nobody reads any more held its
// slot and the daemon's blob stream for good.
test('aborting a download after its head fails the reader with the reason and stops the daemon', async (t) => {
  const coordinator = new CountingCoordinator(64 * 1024 * 1024);
  const h = await startServer(t, { coordinator });
  const client = h.client('acme');
  const controller = new AbortController();
  const download = await client.readPhoto('p1', undefined, { signal: controller.signal });
  await eventually(() => coordinator.state.pulled > 0);
  let failure: unknown = null;
  download.body.once('error', (err) => (failure = err));
  const reason = new Error('the user went away');
  controller.abort(reason);
  await eventually(() => failure !== null, 2000, 'the reader to fail');
  assert.equal(failure, reason);
  await eventually(() => coordinator.state.destroyed, 5000, 'the daemon to drop the blob stream');
  assert.equal(h.server.stats().callsInFlight, 0);
});

// A download neither read nor destroyed (an application that dropped it on an
// error path) held its slot, the daemon's blob stream and, with the socket
// ref'd, the process, for good. The call's timeout now bounds the reader's
// silence as it bounds the daemon's.
test('a download nobody reads fails with TIMEOUT after the call timeout and stops the daemon; a steady reader is not cut', async (t) => {
  const coordinator = new CountingCoordinator(64 * 1024 * 1024);
  const h = await startServer(t, { coordinator });
  const download = await h.client('acme', { callTimeoutMs: 300 }).readPhoto('p1');
  let failure: { code?: string } | null = null;
  download.body.once('error', (err) => (failure = err as { code?: string }));
  await eventually(() => failure !== null, 5000, 'the unread download to fail');
  assert.equal(failure!.code, 'TIMEOUT');
  await eventually(() => coordinator.state.destroyed, 5000, 'the daemon to drop the blob stream');
  assert.equal(h.server.stats().callsInFlight, 0);

  const steady = await startServer(t, { coordinator: new CountingCoordinator(4 * 1024 * 1024) });
  const read = await steady.client('acme', { callTimeoutMs: 1000 }).readPhoto('p1');
  let got = 0;
  for await (const part of read.body) {
    got += (part as Buffer).length;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(got, 4 * 1024 * 1024);
});
