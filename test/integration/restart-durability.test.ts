// What was acknowledged survives a restart and a kill -9 at any moment, and is
// readable afterwards with the same sha256.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { allBlobs } from '../support/blob-presence';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

async function fetchSha(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return sha256(Buffer.from(await res.arrayBuffer()));
}

test('a graceful restart keeps every photo', { timeout: 90_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { LOG_LEVEL: 'info' });
  const first = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: first.socketPath, clientId: 'acme' });
  const stored = [];
  for (let i = 0; i < 10; i++) {
    const body = pngBytes(10_000 + i);
    stored.push({ result: await client.storePhoto(body, { originalName: `r${i}.png`, clientId: 'acme' }), sha: sha256(body) });
  }
  assert.equal(await first.stop('SIGTERM'), 0);
  assert.match(first.stdout(), /"storaged stopped"/);
  // Every connection closed cleanly: the last one checkpointed the WAL into the database and removed it.
  assert.equal(fs.existsSync(path.join(dataDir, 'storage.db-wal')), false);
  await client.close();

  const second = await spawnDaemon(t, env);
  const again = new StorageClient({ socketPath: second.socketPath, clientId: 'acme' });
  t.after(() => again.close());
  for (const { result, sha } of stored) {
    const photo = await again.getPhoto(result.id);
    assert.equal(photo.checksum, sha);
    assert.equal(await fetchSha(photo.s3_url), sha);
  }
});

test('kill -9 under load loses no acknowledged store and leaves no orphan', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio);
  const first = await spawnDaemon(t, env);
  const clients = Array.from({ length: 4 }, () => new StorageClient({ socketPath: first.socketPath, clientId: 'acme' }));
  const acked: Array<{ id: string; sha: string }> = [];
  let stop = false;
  const workers = clients.map(async (client, w) => {
    for (let i = 0; !stop; i++) {
      const body = pngBytes(50_000 + i);
      try {
        const r = await client.storePhoto(body, { originalName: `k${w}-${i}.png`, clientId: 'acme' });
        acked.push({ id: r.id, sha: sha256(body) });
      } catch {
        return; // the daemon died under us: this store was never acknowledged
      }
    }
  });
  while (acked.length < 40) await new Promise((r) => setTimeout(r, 5));
  await first.stop('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await Promise.all(clients.map((c) => c.close()));

  const second = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: second.socketPath, clientId: 'acme' });
  t.after(() => client.close());
  for (const { id, sha } of acked) {
    const photo = await client.getPhoto(id);
    assert.equal(photo.checksum, sha);
    assert.equal(await fetchSha(photo.s3_url), sha);
  }
  // Start-up recovery resolved every interrupted store: each object has exactly one visible row.
  const visible = await client.searchPhotos({ limit: 1000 });
  assert.ok(visible.total >= acked.length);
  assert.equal((await allBlobs(minio, dataDir)).length, visible.total);
});
