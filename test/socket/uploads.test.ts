import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { CallContext } from '../../src/daemon/coordinator/coordinator';
import { TooLargeError } from '../../src/protocol/errors';
import { CHUNK_BYTES, UPLOAD_WINDOW_CHUNKS } from '../../src/protocol/limits';
import { MemoryCoordinator } from './memory-coordinator';
import { eventually, rawConnection, startServer, type Frame } from './socket-harness';

/** A coordinator whose storePhoto reads one chunk each time the test permits it. */
class SteppedCoordinator extends MemoryCoordinator {
  readonly received: Uint8Array[] = [];
  failure: unknown = null;
  signal: AbortSignal | null = null;
  #permits = 0;
  #wake: (() => void) | null = null;

  override storePhoto(ctx: CallContext, _options: unknown, body: AsyncIterable<Uint8Array>) {
    this.signal = ctx.signal;
    const run = (async () => {
      const iterator = body[Symbol.asyncIterator]();
      for (;;) {
        while (this.#permits === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#permits -= 1;
        const next = await iterator.next();
        if (next.done) return { id: 'done', size: this.received.reduce((n, c) => n + c.length, 0) };
        this.received.push(next.value);
      }
    })();
    run.catch((err) => {
      this.failure = err;
    });
    return run as never;
  }

  /** Lets the coordinator take `n` more chunks (or the end). */
  step(n = 1): void {
    this.#permits += n;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

const credits = (frames: Frame[], id: number) =>
  frames.filter((f) => f.t === 'credit' && f.id === id).reduce((n, f) => n + (f.chunks as number), 0);

test('an upload is granted a window of credit, and one more per chunk consumed', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'a.png', clientId: 'acme' } } });
  await c.waitFor((f) => f.t === 'credit');
  assert.equal(credits(c.frames, 1), UPLOAD_WINDOW_CHUNKS);
  const chunks = Array.from({ length: UPLOAD_WINDOW_CHUNKS }, (_, i) => Buffer.alloc(CHUNK_BYTES, i));
  for (const data of chunks) c.send({ t: 'chunk', id: 1, data });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(credits(c.frames, 1), UPLOAD_WINDOW_CHUNKS, 'no credit until the coordinator reads');
  coordinator.step(3);
  await eventually(() => credits(c.frames, 1) === UPLOAD_WINDOW_CHUNKS + 3, 5000, 'three more credits');
  c.send({ t: 'end', id: 1 });
  coordinator.step(UPLOAD_WINDOW_CHUNKS - 3 + 1);
  const answer = await c.waitFor((f) => f.id === 1 && f.t === 'result');
  assert.deepEqual(answer.value, { id: 'done', size: UPLOAD_WINDOW_CHUNKS * CHUNK_BYTES });
  const sha = (bufs: Uint8Array[]) => createHash('sha256').update(Buffer.concat(bufs)).digest('hex');
  assert.equal(sha(coordinator.received), sha(chunks));
});

test('#13 - a store is granted no credit until its body is read, so one waiting for memory holds no frames', async (t) => {
  // A coordinator that reads the body only once let in, as a store waiting for its share of the memory budget does.
  let letIn!: () => void;
  const admitted = new Promise<void>((resolve) => (letIn = resolve));
  const coordinator = new MemoryCoordinator();
  coordinator.storePhoto = (async (_ctx: CallContext, _options: unknown, body: AsyncIterable<Uint8Array>) => {
    await admitted;
    let size = 0;
    for await (const chunk of body) size += chunk.length;
    return { id: 'done', size };
  }) as never;
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'a.png', clientId: 'acme' } } });
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: {} } });
  await c.waitFor((f) => f.id === 2);
  assert.equal(credits(c.frames, 1), 0, 'no credit while the store has not started reading');
  letIn();
  await c.waitFor((f) => f.t === 'credit' && f.id === 1);
  assert.equal(credits(c.frames, 1), UPLOAD_WINDOW_CHUNKS);
  c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1000, 1) });
  c.send({ t: 'end', id: 1 });
  assert.deepEqual((await c.waitFor((f) => f.t === 'result' && f.id === 1)).value, { id: 'done', size: 1000 });

  // A client that sends before it was granted anything breaks the protocol, as one past its credit does.
  const d = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  coordinator.storePhoto = (() => new Promise(() => undefined)) as never;
  d.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: {} } });
  d.send({ t: 'chunk', id: 1, data: Buffer.alloc(10) });
  assert.match(((await d.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /beyond the credit/);
});

test('a client that sends beyond its credit is cut off', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: {} } });
  await c.waitFor((f) => f.t === 'credit');
  for (let i = 0; i <= UPLOAD_WINDOW_CHUNKS; i++) c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1024) });
  const fatal = await c.waitFor((f) => f.t === 'fatal');
  assert.match((fatal.error as { message: string }).message, /beyond the credit/);
  await c.closed;
  // The coordinator's body throws ClosedError and its signal is aborted.
  await eventually(() => coordinator.signal?.aborted === true);
  coordinator.step(UPLOAD_WINDOW_CHUNKS + 2);
  await eventually(() => coordinator.failure !== null);
  assert.equal((coordinator.failure as { code: string }).code, 'CLOSED');
});

test('a client destroyed mid-upload makes the body throw ClosedError and aborts ctx.signal', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: {} } });
  await c.waitFor((f) => f.t === 'credit');
  c.send({ t: 'chunk', id: 1, data: Buffer.alloc(10) });
  coordinator.step(1);
  await eventually(() => coordinator.received.length === 1);
  coordinator.step(1); // now waiting for a chunk that will never come
  c.socket.destroy();
  await eventually(() => coordinator.failure !== null, 5000, 'body to throw');
  assert.equal((coordinator.failure as Error).name, 'ClosedError');
  assert.equal(coordinator.signal!.aborted, true);
  await eventually(() => h.server.stats().callsInFlight === 0 && h.server.stats().connections === 0);
});

test('an abort frame fails the body with ClosedError and the call is answered', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: {} } });
  await c.waitFor((f) => f.t === 'credit');
  coordinator.step(1);
  c.send({ t: 'abort', id: 1 });
  const answer = await c.waitFor((f) => f.id === 1 && f.t === 'error');
  assert.equal((answer.error as { code: string }).code, 'CLOSED');
  assert.equal(coordinator.signal!.aborted, true);
  // The connection is still good.
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: {} } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
});

test('a body past maxBodyBytes fails with TOO_LARGE and the rest is discarded', async (t) => {
  const h = await startServer(t, { maxBodyBytes: 3000 });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'big.png' } } });
  await c.waitFor((f) => f.t === 'credit');
  for (let i = 0; i < UPLOAD_WINDOW_CHUNKS; i++) c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1000) });
  c.send({ t: 'end', id: 1 });
  const answer = await c.waitFor((f) => f.id === 1 && f.t === 'error');
  assert.equal((answer.error as { code: string }).code, 'TOO_LARGE');
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: {} } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
  assert.equal(h.coordinator.photos.size, 0);
  assert.equal(c.frames.filter((f) => f.id === 1 && f.t !== 'credit').length, 1, 'one answer only');
});

test('chunks after the coordinator refused the store early are dropped silently', async (t) => {
  const h = await startServer(t);
  h.coordinator.storePhoto = async () => {
    throw new TooLargeError('declared size too large');
  };
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { size: 1e12 } } });
  await c.waitFor((f) => f.id === 1 && f.t === 'error');
  for (let i = 0; i < UPLOAD_WINDOW_CHUNKS; i++) c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1000) });
  c.send({ t: 'end', id: 1 });
  c.send({ t: 'call', id: 2, op: 'searchPhotos', args: { query: {} } });
  assert.equal((await c.waitFor((f) => f.id === 2)).t, 'result');
  assert.equal(h.server.stats().protocolErrors, 0);
});

test('body frames for a call that takes no body close the connection', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  h.coordinator.getPhoto = () => new Promise(() => undefined);
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'getPhoto', args: { id: 'x' } });
  await new Promise((r) => setTimeout(r, 20));
  c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1) });
  assert.match(((await c.waitFor((f) => f.t === 'fatal')).error as { message: string }).message, /takes no body/);
  await c.closed;
});

test('a client that half-closes once its body is sent still gets its answer; one that died loses its store', async (t) => {
  const coordinator = new SteppedCoordinator();
  const h = await startServer(t, { coordinator });
  const c = await rawConnection(t, h.socketPath, { clientId: 'acme' });
  c.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'a.png', clientId: 'acme' } } });
  await c.waitFor((f) => f.t === 'credit');
  c.send({ t: 'chunk', id: 1, data: Buffer.alloc(1000, 1) });
  c.send({ t: 'end', id: 1 });
  c.socket.end();
  // The daemon probes with a credit (the client may ignore it), then answers once the store is done.
  await eventually(() => credits(c.frames, 1) > UPLOAD_WINDOW_CHUNKS, 5000, 'the liveness credit');
  coordinator.step(2);
  const result = await c.waitFor((f) => f.t === 'result' && f.id === 1);
  assert.deepEqual(result.value, { id: 'done', size: 1000 });
  await c.closed;

  // The same store from a client that is gone: the probe's write fails, and the store is cancelled.
  const dead = new SteppedCoordinator();
  const h2 = await startServer(t, { coordinator: dead });
  const d = await rawConnection(t, h2.socketPath, { clientId: 'acme' });
  d.send({ t: 'call', id: 1, op: 'storePhoto', args: { options: { originalName: 'a.png', clientId: 'acme' } } });
  await d.waitFor((f) => f.t === 'credit');
  d.send({ t: 'chunk', id: 1, data: Buffer.alloc(1000, 1) });
  d.send({ t: 'end', id: 1 });
  await eventually(() => dead.signal !== null, 5000, 'the store to start');
  d.socket.destroy();
  await eventually(() => dead.signal!.aborted, 5000, 'the store to be cancelled');
});
