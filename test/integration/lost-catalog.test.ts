// The catalog is never a single point of loss: delete storage.db and restart,
// and the daemon removes nothing (it used to sweep every photo away as an
// orphan); `storaged rebuild` then brings every photo back from the objects,
// with its filename, user, type, size and checksum. On both blob backends.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { PhotoResult } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { allBlobs } from '../support/blob-presence';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon, type DaemonProcess } from '../support/daemon-process';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, report: r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

/** Waits until the daemon has logged a finished recovery pass that looked at the buckets. */
async function sweptOnce(daemon: DaemonProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (daemon.stdout().includes('recovery pass finished')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no recovery pass finished\n${daemon.stdout()}`);
}

function removeDatabase(dataDir: string) {
  for (const ext of ['', '-wal', '-shm']) fs.rmSync(path.join(dataDir, `storage.db${ext}`), { force: true });
}

async function lostCatalog(t: TestContext, minio: MinioHandle | null) {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { STORAGED_ORPHAN_GRACE_S: '0' });
  let daemon = await spawnDaemon(t, env);
  let client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  const stored: Array<{ result: PhotoResult; body: Buffer; name: string; user: string; type: string }> = [];
  for (let i = 0; i < 12; i++) {
    const [body, type] = i % 2 === 0 ? [pngBytes(3000 + i), 'image/png'] : [jpegBytes(4000 + i), 'image/jpeg'];
    const name = `holiday-${i}.${type === 'image/png' ? 'png' : 'jpg'}`;
    const user = `user-${i % 3}`;
    stored.push({ result: await client.storePhoto(body, { originalName: name, clientId: 'acme', userId: user }), body, name, user, type });
  }
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);
  const objectsBefore = await allBlobs(minio, dataDir);

  // The disk with the catalog is lost; the daemon starts on an empty one.
  removeDatabase(dataDir);
  daemon = await spawnDaemon(t, env);
  await sweptOnce(daemon);
  assert.match(daemon.stdout(), /storaged rebuild/, 'the daemon says what to run');
  assert.deepEqual(await allBlobs(minio, dataDir), objectsBefore, 'not one object was swept away');

  const refused = storaged(env, 'rebuild');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /daemon is running/);
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const rebuilt = storaged(env, 'rebuild');
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(rebuilt.report.adopted, stored.length);
  assert.equal(rebuilt.report.unidentified, 0);
  assert.ok(rebuilt.report.movedAside, 'the empty catalog the daemon made was moved aside, not deleted');

  const again = storaged(env, 'rebuild');
  assert.equal(again.status, 2, 'a catalog with photos is not rebuilt over');
  assert.match(again.stderr, /holds 12 photos/);

  daemon = await spawnDaemon(t, env);
  client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  t.after(() => client.close());
  for (const s of stored) {
    const photo = await client.getPhoto(s.result.id);
    assert.equal(photo.original_filename, s.name);
    assert.equal(photo.user_id, s.user);
    assert.equal(photo.mime_type, s.type);
    assert.equal(photo.size, s.body.length);
    assert.equal(photo.checksum, sha256(s.body));
    const back = Buffer.concat(await (await client.readPhoto(s.result.id)).body.toArray());
    assert.equal(sha256(back), sha256(s.body));
  }
  const page = await client.getUserPhotos('user-1', { limit: 50 });
  assert.equal(page.photos.length, 4);
  const other = new StorageClient({ socketPath: daemon.socketPath, clientId: 'intruder' });
  t.after(() => other.close());
  await assert.rejects(other.getPhoto(stored[0]!.result.id), { code: 'NOT_FOUND' }, 'the rebuilt rows keep their tenant');
}

test('a lost catalog loses nothing on the local backend, and rebuild brings every photo back', { timeout: 120_000 }, (t) => lostCatalog(t, null));

test('a lost catalog loses nothing on MinIO, and rebuild brings every photo back', { timeout: 120_000 }, async (t) => lostCatalog(t, await startMinio(t)));
