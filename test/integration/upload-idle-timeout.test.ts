// callTimeoutMs bounds silence, not a whole upload: a body that keeps moving
// may take far longer than the timeout (a 1 GB store used to need more than
// 33 MB/s to finish within the default 30 s), and a body that stalls longer
// than the timeout still fails with TIMEOUT, storing nothing. Both transports.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

const TOKEN = randomBytes(24).toString('base64url');
// Long enough that a loaded machine answers a finished upload within it; the
// gaps and the stall are fractions and multiples of it, so the test means the same.
const TIMEOUT_MS = 1500;

async function* trickle(pieces: number, gapMs: number, stallAfter?: number): AsyncGenerator<Buffer> {
  const body = pngBytes(pieces * 16 * 1024);
  for (let i = 0; i < pieces; i++) {
    await new Promise((r) => setTimeout(r, i === stallAfter ? TIMEOUT_MS * 3 : gapMs));
    yield body.subarray(i * 16 * 1024, (i + 1) * 16 * 1024);
  }
}

async function clients(t: TestContext): Promise<Array<[string, StorageClient]>> {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: `${TOKEN} acme` } });
  const sidecar = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token: TOKEN, callTimeoutMs: TIMEOUT_MS, cacheConfig: { enabled: false } });
  const remote = new StorageClient({ url: daemon.daemon.httpUrl!, token: TOKEN, clientId: 'acme', callTimeoutMs: TIMEOUT_MS, cacheConfig: { enabled: false } });
  t.after(() => Promise.all([sidecar.close(), remote.close()]));
  return [['sidecar', sidecar], ['remote', remote]];
}

test('an upload that keeps moving outlasts callTimeoutMs; one that stalls past it is a TIMEOUT that stores nothing', { timeout: 60_000 }, async (t) => {
  for (const [door, client] of await clients(t)) {
    const started = Date.now();
    const slow = await client.storePhoto(trickle(8, TIMEOUT_MS / 3), { originalName: `${door}-slow.png`, clientId: 'acme', userId: door });
    assert.ok(Date.now() - started > TIMEOUT_MS * 2, `${door}: the upload took longer than the timeout`);
    assert.equal((await client.getPhoto(slow.id)).size, 8 * 16 * 1024);

    await assert.rejects(
      client.storePhoto(trickle(4, 10, 1), { originalName: `${door}-stalled.png`, clientId: 'acme', userId: door }),
      { code: 'TIMEOUT' },
      `${door}: a stalled body times out`,
    );
    // The daemon rolls the abandoned store back once it notices the caller gone.
    for (let i = 0; i < 200; i++) {
      if ((await client.getUserPhotos(door)).photos.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual((await client.getUserPhotos(door)).photos.map((p) => p.id), [slow.id], `${door}: nothing of the stalled store`);
  }
});
