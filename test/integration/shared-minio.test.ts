// Daemons with catalogs of their own on one MinIO: in other namespaces, or
// (misconfigured) in the same one, their recovery passes never remove each
// other's photos. It used to: each swept the other's objects as orphans.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const passes = (d: DaemonProcess) => d.stdout().split('recovery pass finished').length - 1;

async function morePasses(daemons: DaemonProcess[], n: number): Promise<void> {
  const start = daemons.map(passes);
  for (let i = 0; i < 400; i++) {
    if (daemons.every((d, j) => passes(d) >= start[j]! + n)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('recovery passes did not run');
}

test('daemons with their own catalogs on one MinIO lose nothing of each other\'s', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const settings = { LOG_LEVEL: 'debug', STORAGED_ORPHAN_GRACE_S: '0', STORAGED_RECOVERY_INTERVAL_S: '1', STORAGED_FULL_SWEEP_INTERVAL_S: '60' };
  const daemons = [
    await spawnDaemon(t, daemonEnv(tempDir(t), minio, { ...settings, STORAGED_NAMESPACE: 'team-a' })),
    await spawnDaemon(t, daemonEnv(tempDir(t), minio, { ...settings, STORAGED_NAMESPACE: 'team-b' })),
    // Misconfigured: the same namespace as the first, another catalog. The catalog id in each object keeps them apart.
    await spawnDaemon(t, daemonEnv(tempDir(t), minio, { ...settings, STORAGED_NAMESPACE: 'team-a' })),
  ];
  await minio.client.putObject('images', 'other-app/logo.png', pngBytes(100));
  const stored: Array<{ client: StorageClient; id: string; digest: string }> = [];
  for (const daemon of daemons) {
    const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++) {
      const body = pngBytes(2000 + i);
      stored.push({ client, id: (await client.storePhoto(body, { originalName: `p${i}.png`, clientId: 'acme' })).id, digest: sha256(body) });
    }
  }
  // Two passes after the stores, the second a full one for the first daemon at least (the first pass after start is full too).
  await morePasses(daemons, 2);
  for (const s of stored) {
    const back = Buffer.concat(await (await s.client.readPhoto(s.id)).body.toArray());
    assert.equal(sha256(back), s.digest);
  }
  await minio.client.statObject('images', 'other-app/logo.png');
});
