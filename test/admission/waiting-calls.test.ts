// Calls that wait for one of the daemon's slots, through a real daemon's
// socket: a waiting store is granted no credit until it runs and then
// completes; a waiting call past STORAGED_CALL_WAIT_MS is refused UNAVAILABLE;
// an aborted waiting call leaves the queue at once.

import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { StorageError } from '../../src/protocol/errors';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

/** One slot, so that one open store holds it (one client may hold every slot only when there is one). */
const ONE_SLOT = { STORAGED_MAX_CALLS: '1', STORAGED_MAX_WAITING_CALLS: '8', STORAGED_CALL_WAIT_MS: '60000' };

test('a store waiting for a slot sends no body until it runs, then completes', async (t) => {
  const d = await startTestDaemon(t, null, { env: ONE_SLOT });
  const a = d.client('a');
  const b = d.client('b');
  const slowBody = new PassThrough();
  slowBody.write(pngBytes(1000));
  const first = a.storePhoto(slowBody, { originalName: 'first.png', clientId: 'a' });
  await waitFor(() => d.daemon.socket.stats().callsInFlight === 1);

  const order: string[] = [];
  const second = b.storePhoto(pngBytes(2000), { originalName: 'second.png', clientId: 'b' }).then((r) => (order.push('second'), r));
  // The second is waiting: it holds no slot and its body has not been asked for.
  await new Promise((r) => setImmediate(r));
  assert.equal(d.daemon.socket.stats().callsInFlight, 1);
  slowBody.end();
  const firstResult = await first.then((r) => (order.push('first'), r));
  const secondResult = await second;
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(secondResult.size, 2000);
  assert.equal((await b.getPhoto(secondResult.id)).id, secondResult.id);
  assert.equal((await a.getPhoto(firstResult.id)).size, 1000);
});

test('a call waits at most STORAGED_CALL_WAIT_MS, then hears a retryable UNAVAILABLE naming the settings', async (t) => {
  const d = await startTestDaemon(t, null, { env: { ...ONE_SLOT, STORAGED_CALL_WAIT_MS: '200' } });
  const holder = new PassThrough();
  holder.write(pngBytes(1000));
  const held = d.client('a').storePhoto(holder, { originalName: 'held.png', clientId: 'a' });
  await waitFor(() => d.daemon.socket.stats().callsInFlight === 1);
  await assert.rejects(d.client('b').getUserPhotos('u'), (err: unknown) => {
    assert.ok(err instanceof StorageError);
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.match(err.message, /STORAGED_MAX_CALLS.*no slot within 200 ms; retry later/);
    return true;
  });
  holder.end();
  await held;
  assert.equal((await d.client('b').getUserPhotos('u')).photos.length, 0, 'served once the slot is free');
});

test('an aborted waiting call leaves the queue at once, and the daemon does not run it', async (t) => {
  const d = await startTestDaemon(t, null, { env: ONE_SLOT });
  const holder = new PassThrough();
  holder.write(pngBytes(1000));
  const held = d.client('a').storePhoto(holder, { originalName: 'held.png', clientId: 'a' });
  await waitFor(() => d.daemon.socket.stats().callsInFlight === 1);
  const controller = new AbortController();
  const waiting = d.client('b').storePhoto(pngBytes(2000), { originalName: 'never.png', clientId: 'b', userId: 'nobody' }, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 50));
  controller.abort(new Error('changed my mind'));
  await assert.rejects(waiting, /changed my mind/);
  holder.end();
  await held;
  // The aborted store never ran: nothing of it was stored.
  assert.equal((await d.client('b').getUserPhotos('nobody')).photos.length, 0);
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'the condition never held');
}
