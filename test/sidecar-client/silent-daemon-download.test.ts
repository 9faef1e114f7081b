// A sidecar download whose daemon goes quiet after the head (hung, frozen,
// its blob stream stalled) fails with TIMEOUT once no byte has come for the
// call's timeout, instead of waiting for ever with its slot held; the client
// goes on serving other calls once the daemon answers again. A reader that is
// the slow one is left to the unread bound (protocol/unread-timeout.ts).

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

test('a download whose daemon goes silent after the head fails with TIMEOUT, and the client serves the next call', { timeout: 60_000 }, async (t) => {
  const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null));
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 1000, retry: false });
  t.after(() => client.close());
  // Larger than the download window and the client's read-ahead together: most of it is still to come when the daemon stops.
  const size = 8 * 1024 * 1024;
  const stored = await client.storePhoto(pngBytes(size), { originalName: 'big.png', clientId: 'acme' });
  const download = await client.readPhoto(stored.id);

  process.kill(daemon.proc.pid!, 'SIGSTOP');
  let stopped = true;
  t.after(() => {
    if (stopped) process.kill(daemon.proc.pid!, 'SIGCONT');
  });
  await rejectsWithCode(drain(download.body), 'TIMEOUT', /storaged sent nothing for 1000 ms/);
  process.kill(daemon.proc.pid!, 'SIGCONT');
  stopped = false;

  assert.equal((await client.getPhoto(stored.id)).size, size, 'the connection still serves calls');
  const again = await client.readPhoto(stored.id);
  assert.equal(await drain(again.body), size, 'and a whole download, its slot given back');
});

test('a download read steadily, slower than the daemon could send, is not cut', { timeout: 60_000 }, async (t) => {
  const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null));
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 1000, retry: false });
  t.after(() => client.close());
  const size = 4 * 1024 * 1024;
  const stored = await client.storePhoto(pngBytes(size), { originalName: 'steady.png', clientId: 'acme' });
  const download = await client.readPhoto(stored.id);
  let n = 0;
  const started = Date.now();
  for await (const chunk of download.body as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    // Each pause is under the timeout (the daemon waits on the reader meanwhile), but they add up to more than it.
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  assert.equal(n, size);
  assert.ok(Date.now() - started > 1000, `the download took longer than the call timeout in all (${Date.now() - started} ms)`);
});
