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
import Database from 'better-sqlite3';
import { recordKeyFor } from '../../src/daemon/update-records/update-record';

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  // `check` prints its report with exit 1 too (problems found).
  return { status: r.status, stderr: r.stderr, report: (r.status === 0 || r.status === 1) && r.stdout.trim() ? JSON.parse(r.stdout) : null };
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

/** What a getPhoto answer says of the photo, without the URL it signs at the moment of asking (it changes with the second). */
function rowOf<P extends { s3_url?: unknown; url_expires_at?: unknown }>(photo: P): Omit<P, 's3_url' | 'url_expires_at'> {
  const { s3_url: _url, url_expires_at: _expires, ...row } = photo;
  return row;
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
  const before = rowOf(await c.getPhoto(stored.id));

  await minio.stop();
  const patch = { processing_status: 'completed', processing_metadata: { labels: ['cat'] }, metadata: { reviewed: 'yes' } } as const;
  const refused = await storageErrorOf(c.updatePhotoMetadata(stored.id, patch));
  assert.equal(refused.code, 'UNAVAILABLE');
  assert.equal(refused.retryable, true);
  assert.match(refused.message, /was not updated: its update record could not be written to the blob store .*send the same update again once the blob store answers/);
  assert.deepEqual(rowOf(await c.getPhoto(stored.id)), before, 'nothing changed');

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

test("a filename stored before today's rules costs its photo no later update: restore and rebuild apply the rest, keep the name, and say which field; check finds a record behind its row and --repair rewrites it", { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const extra = { BACKUP_INTERVAL: '0' };
  const env = daemonEnv(dataDir, minio, extra);
  // A control character: today's filename rule refuses it, an older storaged stored it.
  const OLD_NAME = 'scan\u0007old.png';
  let d = await startTestDaemon(t, minio, { dataDir, env: extra });
  const stored = await d.client('acme').storePhoto(pngBytes(2500), { originalName: 'scan.png', clientId: 'acme' });
  // What that older storaged left: the name in the object's identity and in the row, written there directly.
  const identity = await d.daemon.blobs.identity(stored.bucket, stored.s3_key);
  assert.ok(identity);
  const bytes = Buffer.concat(await (await d.daemon.blobs.read(stored.bucket, stored.s3_key)).toArray());
  await d.daemon.blobs.put(stored.bucket, stored.s3_key, { buffer: bytes }, bytes.length, 'image/png', undefined, undefined, { ...identity, originalFilename: OLD_NAME });
  await d.daemon.close();
  const db = new Database(path.join(dataDir, 'storage.db'));
  assert.equal(db.prepare('UPDATE photos SET original_filename = ? WHERE id = ?').run(OLD_NAME, stored.id).changes, 1);
  db.close();

  d = await startTestDaemon(t, minio, { dataDir, env: extra });
  const backup = storaged(env, 'backup');
  assert.equal(backup.status, 0, backup.stderr);
  const updated = await d.client('acme').updatePhotoMetadata(stored.id, { metadata: { album: 'after-backup' }, processing_status: 'in_progress' });
  assert.equal(updated.original_filename, OLD_NAME, 'the update is acknowledged, the old name kept');
  await d.daemon.close();

  const refused = [{ photoId: stored.id, field: 'original_filename' }];
  const assertWarned = (stderr: string, what: string) => {
    const warned = stderr.split('\n').filter((line) => line.includes('refused by today')).map((line) => JSON.parse(line));
    assert.deepEqual(warned.map((w) => [w.photoId, w.fields]), [[stored.id, ['original_filename']]], `${what}: ${stderr}`);
    assert.doesNotMatch(stderr, /old\.png/, `${what}: never the value`);
  };
  const assertBack = async (what: string) => {
    const again = await startTestDaemon(t, minio, { dataDir, env: extra });
    const photo = await again.client('acme').getPhoto(stored.id);
    assert.deepEqual(photo.metadata, { album: 'after-backup' }, what);
    assert.equal(photo.processing_status, 'in_progress', what);
    assert.equal(photo.updated_at, updated.updated_at, what);
    assert.equal(photo.original_filename, OLD_NAME, `${what}: the name it had`);
    await again.daemon.close();
  };

  // A restore of the backup taken before the update.
  const restored = storaged(env, 'restore', '--from', backup.report.name);
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal(restored.report.readopted.recordsApplied, 1);
  assert.equal(restored.report.readopted.unidentified, 0);
  assert.deepEqual(restored.report.readopted.refusedRecordFields, refused);
  assert.match(restored.report.lost, /except 1 field today's rules refuse \(readopted.refusedRecordFields\): it kept the value its row had/);
  assertWarned(restored.stderr, 'restore');
  await assertBack('after restore');

  // The catalog lost.
  removeDatabase(dataDir);
  const rebuilt = storaged(env, 'rebuild');
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(rebuilt.report.adopted, 1);
  assert.equal(rebuilt.report.recordsApplied, 1);
  assert.equal(rebuilt.report.unidentified, 0, 'a record with a refused field is still a record');
  assert.equal(rebuilt.report.recordFieldsRefused, 1);
  assert.deepEqual(rebuilt.report.refusedRecordFields, refused);
  assertWarned(rebuilt.stderr, 'rebuild');
  await assertBack('after rebuild');

  // In sync (the daemon rewrote the record the rebuild marked owed): the check reports nothing.
  let checked = storaged(env, 'check');
  assert.equal(checked.status, 0, checked.stderr);
  assert.deepEqual(checked.report.updateRecords.behind, { count: 0, ids: [] });
  assert.equal(checked.report.updateRecords.live, 1);

  // The record overwritten with an older one of its own: a lost catalog would come back without the last update.
  d = await startTestDaemon(t, minio, { dataDir, env: extra });
  const recordKey = recordKeyFor(stored.s3_key, 'storaged')!;
  const older = Buffer.concat(await (await d.daemon.blobs.read(stored.bucket, recordKey)).toArray());
  await d.client('acme').updatePhotoMetadata(stored.id, { processing_status: 'completed' });
  await d.daemon.blobs.put(stored.bucket, recordKey, { buffer: older }, older.length, 'application/json');
  await d.daemon.close();
  checked = storaged(env, 'check');
  assert.equal(checked.status, 1, 'a record behind its row is a problem');
  assert.equal(checked.report.ok, false);
  assert.deepEqual(checked.report.updateRecords.behind, { count: 1, ids: [stored.id] });
  assert.equal(checked.report.updateRecords.owed, 0);
  const repaired = storaged(env, 'check', '--repair');
  assert.equal(repaired.status, 0, repaired.stderr);
  assert.equal(repaired.report.repaired.recordsBehind, 1);
  assert.equal(repaired.report.repaired.recordsWritten, 1);
  assert.deepEqual(repaired.report.updateRecords.behind, { count: 0, ids: [] });
  // And what the record now holds is what a rebuild brings back.
  removeDatabase(dataDir);
  assert.equal(storaged(env, 'rebuild').status, 0);
  const last = await startTestDaemon(t, minio, { dataDir, env: extra });
  assert.equal((await last.client('acme').getPhoto(stored.id)).processing_status, 'completed');
});
