// An acknowledged updatePhotoMetadata survives the loss of storage.db: the
// daemon is killed (-9) and the database removed, and `storaged rebuild`
// brings every photo back with the metadata and processing state of its last
// acknowledged update, not as it was stored; a restore from a backup taken
// before the updates brings them back too. On both blob backends. (Before
// update records, rebuild answered every photo `queued` with empty metadata,
// and a restore as of its backup.)

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Photo } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { jpegBytes, pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';
import { storageErrorOf } from '../support/expect-code';
import { startTestDaemon } from '../support/in-process-daemon';

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, report: r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

function removeDatabase(dataDir: string) {
  for (const ext of ['', '-wal', '-shm']) fs.rmSync(path.join(dataDir, `storage.db${ext}`), { force: true });
}

/** What an update may change, and when it last did. */
const MUTABLE = [
  'original_filename', 'user_id', 'session_id', 'width', 'height', 'duration', 'processing_status', 'processing_metadata',
  'processing_error', 'processing_started_at', 'processing_completed_at', 'metadata', 'updated_at',
] as const;

/** A photo never updated has no record: an adopted row's updated_at is its adoption's, as before records. */
function mutable(photo: Photo, updated: boolean): Record<string, unknown> {
  return Object.fromEntries(MUTABLE.filter((field) => updated || field !== 'updated_at').map((field) => [field, photo[field]]));
}

async function assertStates(env: Record<string, string>, t: TestContext, expected: Map<string, Photo>, what: string) {
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  try {
    for (const [id, photo] of expected) {
      const updated = photo.processing_status !== 'queued' || photo.original_filename.startsWith('renamed');
      assert.deepEqual(mutable(await client.getPhoto(id), updated), mutable(photo, updated), `${what}: photo ${photo.original_filename}`);
    }
    // A rename is searchable again: the record's filename went into the word index.
    const found = await client.searchPhotos({ query: 'renamed' });
    assert.deepEqual(found.photos.map((p) => p.original_filename), ['renamed-trip.jpg'], what);
    assert.equal((await client.getUserPhotos('new-owner', { limit: 10 })).photos.length, 1, `${what}: the changed user_id is the one listed`);
  } finally {
    await client.close();
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }
}

async function lostUpdates(t: TestContext, minio: MinioHandle | null) {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { BACKUP_INTERVAL: '0', STORAGED_ORPHAN_GRACE_S: '0' });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const body = i % 2 === 0 ? pngBytes(3000 + i) : jpegBytes(4000 + i);
    ids.push((await client.storePhoto(body, { originalName: `trip-${i}.${i % 2 === 0 ? 'png' : 'jpg'}`, clientId: 'acme', userId: 'owner' })).id);
  }
  const [processed, renamed, twice, untouched] = ids as [string, string, string, string];
  await client.updatePhotoMetadata(processed, { metadata: { album: 'before-backup' } });
  const backup = storaged(env, 'backup');
  assert.equal(backup.status, 0, backup.stderr);

  // Everything below happens after the backup: a restore from it used to lose all of it.
  await client.updatePhotoMetadata(processed, { processing_status: 'in_progress' });
  const big = { faces: Array.from({ length: 400 }, (_, i) => ({ x: i, y: i * 2, label: `face number ${i}` })) };
  assert.ok(JSON.stringify(big).length > 16_000, 'more than S3 user metadata could ever hold');
  await client.updatePhotoMetadata(processed, { processing_status: 'completed', processing_metadata: big, width: 640, height: 480, duration: 0 });
  await client.updatePhotoMetadata(renamed, { original_filename: 'renamed-trip.jpg', user_id: 'new-owner', session_id: 's-9', metadata: { k: 'v' } });
  await client.updatePhotoMetadata(twice, { processing_status: 'in_progress' });
  await client.updatePhotoMetadata(twice, { processing_status: 'failed', processing_error: 'decoder gave up' });
  const expected = new Map<string, Photo>();
  for (const id of ids) expected.set(id, await client.getPhoto(id));
  assert.equal(expected.get(untouched)!.processing_status, 'queued');
  await client.close();

  // The disk with storage.db is lost in the middle of things.
  assert.equal(await daemon.stop('SIGKILL'), 'SIGKILL');
  removeDatabase(dataDir);
  const rebuilt = storaged(env, 'rebuild');
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(rebuilt.report.adopted, 4);
  assert.equal(rebuilt.report.records, 3, 'one record per updated photo');
  assert.equal(rebuilt.report.recordsApplied, 3);
  assert.equal(rebuilt.report.unidentified, 0, 'records are not unidentified objects');
  assert.equal(rebuilt.report.foreign, 0, 'records are not foreign objects');
  // A rebuilt row's updated_at is the update's: the record carries it.
  await assertStates(env, t, expected, 'after rebuild');

  // The backup from before the updates, restored over the rebuilt catalog: the records bring the updates back again.
  const restored = storaged(env, 'restore', '--from', backup.report.name);
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal(restored.report.readopted.adopted, 0, 'every photo was in the backup');
  assert.equal(restored.report.readopted.recordsApplied, 3);
  assert.match(restored.report.lost, /nothing acknowledged/);
  await assertStates(env, t, expected, 'after restore');
}

test('acknowledged updates survive a lost storage.db (rebuild) and an older backup (restore) on the local backend', { timeout: 180_000 }, (t) =>
  lostUpdates(t, null));

test('acknowledged updates survive a lost storage.db (rebuild) and an older backup (restore) on MinIO', { timeout: 180_000 }, async (t) =>
  lostUpdates(t, await startMinio(t)));

test('an update while MinIO is down is refused UNAVAILABLE and changes nothing; sent again once MinIO is back, it is kept, record and all', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const c = d.client('acme');
  const stored = await c.storePhoto(pngBytes(2048), { originalName: 'outage.png', clientId: 'acme' });
  await c.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' });
  const before = await c.getPhoto(stored.id);

  await minio.stop();
  const patch = { processing_status: 'completed', processing_metadata: { labels: ['cat'] }, metadata: { reviewed: 'yes' } } as const;
  const refused = await storageErrorOf(c.updatePhotoMetadata(stored.id, patch));
  assert.equal(refused.code, 'UNAVAILABLE');
  assert.equal(refused.retryable, true);
  assert.match(refused.message, /was not updated: its update record could not be written to the blob store .*send the same update again once the blob store answers/);
  assert.deepEqual(await c.getPhoto(stored.id), before, 'nothing changed');

  await minio.restart();
  await d.daemon.recoverNow('recent');
  const kept = await c.updatePhotoMetadata(stored.id, patch);
  assert.equal(kept.processing_status, 'completed');
  await d.daemon.close();

  // The update is in the record: a rebuild from the objects alone has it.
  removeDatabase(d.dataDir);
  const env = daemonEnv(d.dataDir, minio);
  const rebuilt = storaged(env, 'rebuild');
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(rebuilt.report.recordsApplied, 1);
  const again = await startTestDaemon(t, minio, { dataDir: d.dataDir });
  const photo = await again.client('acme').getPhoto(stored.id);
  assert.deepEqual(mutable(photo, true), mutable(kept, true));
});
