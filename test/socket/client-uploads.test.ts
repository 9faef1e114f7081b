import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { CallContext } from '../../src/daemon/coordinator/coordinator';
import { StorageError, ValidationError } from '../../src/protocol/errors';
import { CHUNK_BYTES, UPLOAD_WINDOW_CHUNKS } from '../../src/protocol/limits';
import { eventually, startServer } from './socket-harness';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A stream of `total` random bytes in `piece`-sized reads; counts how much was pulled from it. */
function countingStream(total: number, piece = 64 * 1024) {
  const source = randomBytes(total);
  const state = { pulled: 0, destroyed: false, source };
  const stream = new Readable({
    read() {
      if (state.pulled >= total) return void this.push(null);
      const next = source.subarray(state.pulled, state.pulled + piece);
      state.pulled += next.length;
      this.push(next);
    },
    destroy(err, cb) {
      state.destroyed = true;
      cb(err);
    },
  });
  return { stream, state };
}

test('a Buffer arrives byte-identical, with its size sent along', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const body = randomBytes(3 * CHUNK_BYTES + 17);
  const stored = await client.storePhoto(body, { originalName: 'b.png', clientId: 'acme' });
  assert.equal(stored.checksum, sha256(body));
  assert.equal((h.coordinator.calls[0]!.args[0] as { size: number }).size, body.length);
});

test('a 20 MB Buffer and a 20 MB stream arrive byte-identical', { timeout: 60_000 }, async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const big = randomBytes(20 * 1024 * 1024);
  assert.equal((await client.storePhoto(big, { originalName: 'big.png', clientId: 'acme' })).checksum, sha256(big));
  const { stream, state } = countingStream(20 * 1024 * 1024 + 12345, 100_000);
  const stored = await client.storePhoto(stream, { originalName: 'big-stream.png', clientId: 'acme' });
  assert.equal(stored.size, state.source.length);
  assert.equal(stored.checksum, sha256(state.source));
});

test('streams of odd shapes arrive intact: empty, one huge piece, strings, an async generator', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  const empty = await client.storePhoto(Readable.from([]), { originalName: 'e.png', clientId: 'acme' });
  assert.equal(empty.size, 0);
  assert.equal(empty.checksum, sha256(Buffer.alloc(0)));
  const emptyBuffer = await client.storePhoto(Buffer.alloc(0), { originalName: 'e2.png', clientId: 'acme' });
  assert.equal(emptyBuffer.size, 0);

  const huge = randomBytes(2 * CHUNK_BYTES + 5);
  assert.equal((await client.storePhoto(Readable.from([huge]), { originalName: 'h.png', clientId: 'acme' })).checksum, sha256(huge));

  const text = await client.storePhoto(Readable.from(['ab', 'cd'], { objectMode: true }), { originalName: 't.png', clientId: 'acme' });
  assert.equal(text.checksum, sha256(Buffer.from('abcd')));

  async function* pieces() {
    for (let i = 0; i < 10; i++) yield Buffer.alloc(1000, i);
  }
  const generated = await client.storePhoto(pieces(), { originalName: 'g.png', clientId: 'acme' });
  assert.equal(generated.size, 10_000);
});

test('a stream is pulled no faster than the daemon consumes it', async (t) => {
  const h = await startServer(t);
  let takeMore!: () => void;
  h.coordinator.storePhoto = async (_ctx, _opts, body) => {
    const it = body[Symbol.asyncIterator]();
    await it.next();
    await new Promise<void>((resolve) => (takeMore = resolve));
    for (let r = await it.next(); !r.done; r = await it.next());
    return { id: 'x' } as never;
  };
  const client = h.client('acme');
  const { stream, state } = countingStream(10 * 1024 * 1024);
  const storing = client.storePhoto(stream, { originalName: 's.png', clientId: 'acme' });
  await new Promise((r) => setTimeout(r, 200));
  // The window, the chunk the coordinator holds, one chunk being gathered, and the stream's own buffer.
  const bound = (UPLOAD_WINDOW_CHUNKS + 2) * CHUNK_BYTES + stream.readableHighWaterMark + 64 * 1024;
  assert.ok(state.pulled <= bound, `pulled ${state.pulled} bytes, bound ${bound}`);
  takeMore();
  await storing;
  assert.equal(state.pulled, 10 * 1024 * 1024);
});

test('a server error mid-upload stops the client sending, and rejects with that error', async (t) => {
  const h = await startServer(t);
  let chunksSeen = 0;
  h.coordinator.storePhoto = async (_ctx, _opts, body) => {
    for await (const _chunk of body) {
      if (++chunksSeen === 2) throw new ValidationError('not an image');
    }
    return { id: 'x' } as never;
  };
  const client = h.client('acme');
  const { stream, state } = countingStream(30 * 1024 * 1024);
  await assert.rejects(
    client.storePhoto(stream, { originalName: 's.png', clientId: 'acme' }),
    (err: unknown) => err instanceof StorageError && err.code === 'VALIDATION' && err.message === 'not an image',
  );
  await eventually(() => state.destroyed, 5000, 'source stream destroyed');
  assert.ok(state.pulled < 5 * 1024 * 1024, `pulled only ${state.pulled} bytes of 30 MB`);
  // The connection is fine for the next call.
  assert.equal((await client.searchPhotos({})).total, 0);
  assert.equal(h.server.stats().protocolErrors, 0);
});

test('a refusal before any body byte (declared size too large) stops the upload at once', async (t) => {
  const h = await startServer(t, { maxBodyBytes: 1000 });
  h.coordinator.storePhoto = async (_ctx, opts) => {
    if ((opts as { size: number }).size > 1000) throw new ValidationError('too big, said so up front');
    return { id: 'x' } as never;
  };
  const client = h.client('acme');
  await assert.rejects(client.storePhoto(Buffer.alloc(5000), { originalName: 'a.png', clientId: 'acme' }), /too big/);
  assert.equal((await client.searchPhotos({})).total, 0);
});

test('a body over maxBodyBytes is refused with TOO_LARGE', async (t) => {
  const h = await startServer(t, { maxBodyBytes: CHUNK_BYTES });
  const client = h.client('acme');
  const { stream } = countingStream(4 * CHUNK_BYTES);
  await assert.rejects(
    client.storePhoto(stream, { originalName: 'a.png', clientId: 'acme' }),
    (err: unknown) => err instanceof StorageError && err.code === 'TOO_LARGE',
  );
});

test('a store that times out is aborted on the daemon', async (t) => {
  const h = await startServer(t);
  let signal!: AbortSignal;
  let bodyError: unknown = null;
  h.coordinator.storePhoto = async (ctx: CallContext, _opts, body) => {
    signal = ctx.signal;
    try {
      for await (const _chunk of body) await new Promise((r) => setTimeout(r, 1000));
    } catch (err) {
      bodyError = err;
      throw err;
    }
    return { id: 'x' } as never;
  };
  const client = h.client('acme', { callTimeoutMs: 150 });
  const { stream, state } = countingStream(5 * 1024 * 1024);
  await assert.rejects(
    client.storePhoto(stream, { originalName: 'a.png', clientId: 'acme' }),
    (err: unknown) => err instanceof StorageError && err.code === 'TIMEOUT',
  );
  await eventually(() => signal?.aborted === true, 5000, 'ctx.signal aborted');
  await eventually(() => (bodyError as { code?: string } | null)?.code === 'CLOSED', 5000, 'body iterator threw ClosedError');
  assert.equal(state.destroyed, true);
});

test('a failing source stream rejects the store with its error and aborts the daemon side', async (t) => {
  const h = await startServer(t);
  let signal!: AbortSignal;
  h.coordinator.storePhoto = async (ctx: CallContext, _opts, body) => {
    signal = ctx.signal;
    for await (const _chunk of body);
    return { id: 'x' } as never;
  };
  const client = h.client('acme');
  async function* broken() {
    yield Buffer.alloc(CHUNK_BYTES);
    throw new Error('disk on fire');
  }
  await assert.rejects(client.storePhoto(broken(), { originalName: 'a.png', clientId: 'acme' }), /disk on fire/);
  await eventually(() => signal?.aborted === true, 5000, 'ctx.signal aborted');
  assert.equal((await client.searchPhotos({})).total, 0);
});

test('non-byte data is refused locally', async (t) => {
  const h = await startServer(t);
  const client = h.client('acme');
  await assert.rejects(client.storePhoto('text' as never, { originalName: 'a.png', clientId: 'acme' }), ValidationError);
  await assert.rejects(
    client.storePhoto(Readable.from([{ not: 'bytes' }]), { originalName: 'a.png', clientId: 'acme' }),
    /expected bytes/,
  );
});

// storagectl put stores each file through an async generator over a file
// stream; a store refused part way (a file that is no image) left that
// generator suspended at a yield, so the file stream under it, and its
// descriptor, stayed open: a put over a directory of such files ran out of
// descriptors.
test('a store refused part way closes a generator body, and whatever it reads from', async (t) => {
  const h = await startServer(t);
  h.coordinator.storePhoto = async (_ctx, _opts, body) => {
    for await (const _chunk of body) throw new ValidationError('not an image');
    return { id: 'x' } as never;
  };
  const client = h.client('acme');
  const state = { pulled: 0, closed: false };
  async function* file() {
    try {
      for (let i = 0; i < 40; i++) {
        state.pulled += 1;
        yield Buffer.alloc(CHUNK_BYTES, i);
      }
    } finally {
      state.closed = true;
    }
  }
  await assert.rejects(client.storePhoto(file(), { originalName: 'notes.txt', clientId: 'acme' }), /not an image/);
  await eventually(() => state.closed, 2000, 'the body generator to be closed');
  assert.ok(state.pulled < 40, `pulled ${state.pulled} of 40 chunks`);
});
