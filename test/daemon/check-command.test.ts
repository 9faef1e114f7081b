// `storaged check` as an operator runs it: a clean store passes; a missing
// object, rotted bytes, an orphan and a stranded multipart upload are each
// reported, and nothing is changed.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pino from 'pino';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Catalog } from '../../src/daemon/db/catalog';
import { objectKey } from '../../src/daemon/db/object-key';
import type { PhotoResult } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

function check(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, 'check', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, report: r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

/** The pending row a store inserts before its upload; `startedLongAgo` makes it one that died long past the pending timeout. */
async function insertPendingRow(sqlitePath: string, bucket: 'images-large' | 'videos', startedLongAgo: boolean) {
  const id = randomUUID();
  const name = bucket === 'videos' ? 'clip.mp4' : 'big.jpg';
  const key = objectKey(id, name, new Date());
  const catalog = Catalog.open({ path: sqlitePath, logger: pino({ level: 'silent' }) });
  await catalog.insertPending({
    id, client_id: 'ops', user_id: null, session_id: null, original_filename: name, mime_type: bucket === 'videos' ? 'video/mp4' : 'image/jpeg',
    bucket, s3_key: key, size: 40_000_000, checksum: 'ab'.repeat(32), metadata: {},
  });
  await catalog.close();
  if (startedLongAgo) {
    const db = new Database(sqlitePath);
    db.prepare('UPDATE photos SET state_changed_at = ? WHERE id = ?').run('2020-01-01T00:00:00.000Z', id);
    db.close();
  }
  return { id, key };
}

type UploadsReport = { incompleteUploads: { stale: Array<{ bucket: string; key: string; photoId: string | null }> } };
const staleUploads = (report: UploadsReport) => report.incompleteUploads.stale.map((u) => [u.bucket, u.key, u.photoId]);

test('storaged check finds missing objects, rotted bytes and orphans, and changes nothing', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { STORAGED_ORPHAN_GRACE_S: '0' });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'ops' });
  const photos: PhotoResult[] = [];
  for (let i = 0; i < 3; i++) photos.push(await client.storePhoto(pngBytes(5000 + i), { originalName: `c${i}.png`, clientId: 'ops' }));
  await client.close();

  // Consistent, and safe beside a running daemon.
  const clean = check(env, '--verify-checksums');
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.report.ok, true);
  assert.equal(clean.report.committedChecked, 3);
  assert.equal(clean.report.bytesVerified, 5000 + 5001 + 5002);
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const file = (p: PhotoResult) => path.join(dataDir, 'blobs', p.bucket, p.s3_key);
  fs.rmSync(file(photos[0]!));
  const rotten = fs.readFileSync(file(photos[1]!));
  rotten[100] = rotten[100]! ^ 0xff;
  fs.writeFileSync(file(photos[1]!), rotten);
  const orphan = path.join(dataDir, 'blobs', 'images', '2020', '01', '00000000-0000-4000-8000-000000000000.png');
  fs.mkdirSync(path.dirname(orphan), { recursive: true });
  fs.writeFileSync(orphan, pngBytes(10));
  const foreign = path.join(dataDir, 'blobs', 'images', 'other-app', 'logo.png');
  fs.mkdirSync(path.dirname(foreign), { recursive: true });
  fs.writeFileSync(foreign, pngBytes(10));

  const quick = check(env);
  assert.equal(quick.status, 1);
  assert.deepEqual(quick.report.problems.map((p: { id: string; problem: string }) => [p.id, p.problem]), [[photos[0]!.id, 'missing']]);
  // A storaged-looking key without identity is reported for an operator, never called an orphan; another application's object is only counted.
  assert.deepEqual(quick.report.unidentified.map((o: { key: string }) => o.key), ['2020/01/00000000-0000-4000-8000-000000000000.png']);
  assert.deepEqual(quick.report.orphans, []);
  assert.equal(quick.report.foreignObjects, 1);
  assert.equal(quick.report.withoutIdentity, 0, 'every photo the daemon stored names itself');

  const deep = check(env, '--verify-checksums');
  assert.equal(deep.status, 1);
  assert.deepEqual(
    deep.report.problems.map((p: { id: string; problem: string }) => [p.id, p.problem]),
    [[photos[0]!.id, 'missing'], [photos[1]!.id, 'checksum-mismatch']],
  );
  assert.ok(fs.existsSync(orphan), 'check repairs nothing');
  assert.ok(fs.existsSync(foreign));

  const bad = spawnSync(process.execPath, [DAEMON_BIN, 'check', '--fix'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /unknown argument '--fix' for check/);
});

test('storaged check lists incomplete uploads per bucket and by the keys of pending rows, also after a MinIO restart', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio);
  const sqlitePath = path.join(dataDir, 'storage.db');
  // The daemon makes the buckets and the database, then goes.
  assert.equal(await (await spawnDaemon(t, env)).stop('SIGTERM'), 0);

  // What a store that died mid-transfer leaves: its pending row, long past the pending timeout, and its upload.
  const { id, key } = await insertPendingRow(sqlitePath, 'images-large', true);
  await minio.client.initiateNewMultipartUpload('images-large', key, {});
  // And what a store in progress has: a young upload and no stale row.
  await minio.client.initiateNewMultipartUpload('videos', '2026/11/in-progress.mp4', {});

  const before = check(env);
  assert.equal(before.status, 1, before.stderr);
  assert.deepEqual(before.report.incompleteUploads.perBucket, { images: 0, 'images-large': 1, videos: 1, files: 0 });
  assert.equal(before.report.incompleteUploads.ofPendingRows, 1);
  assert.equal(before.report.incompleteUploads.young, 1);
  assert.equal(before.report.incompleteUploads.staleCount, 1);
  assert.deepEqual(staleUploads(before.report), [['images-large', key, id]]);

  // After a restart MinIO lists neither bucket-wide; the pending row's key still finds its upload.
  await minio.restart();
  const restarted = check(env);
  assert.equal(restarted.status, 1, restarted.stderr);
  assert.deepEqual(restarted.report.incompleteUploads.perBucket, { images: 0, 'images-large': 0, videos: 0, files: 0 });
  assert.equal(restarted.report.incompleteUploads.ofPendingRows, 1);
  assert.deepEqual(staleUploads(restarted.report), [['images-large', key, id]]);

  // Recovery at start rolls the row back and aborts the upload by its key; check then finds it clean.
  assert.equal(await (await spawnDaemon(t, env)).stop('SIGTERM'), 0);
  const after = check(env);
  assert.equal(after.status, 0, JSON.stringify(after.report));
  assert.equal(after.report.incompleteUploads.ofPendingRows, 0);
  assert.equal(after.report.incompleteUploads.staleCount, 0);
  const left: string[] = [];
  for await (const u of minio.client.listIncompleteUploads('images-large', key, true)) left.push(u.key);
  assert.deepEqual(left, []);
});

test('storaged check leaves a running store\'s upload out of the stale ones however old it is, as recovery does', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  // No grace at all: every upload is older than the grace period.
  const env = daemonEnv(dataDir, minio, { STORAGED_ORPHAN_GRACE_S: '0' });
  const sqlitePath = path.join(dataDir, 'storage.db');
  assert.equal(await (await spawnDaemon(t, env)).stop('SIGTERM'), 0);

  const running = await insertPendingRow(sqlitePath, 'videos', false); // younger than STORAGED_PENDING_TIMEOUT_S
  const crashed = await insertPendingRow(sqlitePath, 'images-large', true);
  const strayKey = '2026/11/no-row.mp4';
  await minio.client.initiateNewMultipartUpload('videos', running.key, {});
  await minio.client.initiateNewMultipartUpload('images-large', crashed.key, {});
  await minio.client.initiateNewMultipartUpload('videos', strayKey, {});

  const r = check(env);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(staleUploads(r.report).sort(), [['images-large', crashed.key, crashed.id], ['videos', strayKey, null]].sort());
  assert.equal(r.report.incompleteUploads.staleCount, 2);
  assert.equal(r.report.incompleteUploads.young, 1);
  assert.equal(r.report.incompleteUploads.ofPendingRows, 2);
});

test('check only reads: it never migrates nor writes the database, and names a schema it does not know', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null);
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'ops' });
  await client.storePhoto(pngBytes(3000), { originalName: 'a.png', clientId: 'ops' });
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);
  const db = path.join(dataDir, 'storage.db');
  const bytes = () => fs.readFileSync(db).toString('base64');
  const before = bytes();
  assert.equal(check(env).status, 0);
  assert.equal(bytes(), before, 'not a byte of the database changed (no migration, no run record)');
  // A read-only WAL reader may leave SQLite's shared-memory index and an empty log behind, never a write.
  const wal = `${db}-wal`;
  assert.ok(!fs.existsSync(wal) || fs.statSync(wal).size === 0, 'nothing was written to the log either');

  // A database of an older schema (as an older storaged left it) is not migrated by a check.
  const sql = new Database(db);
  const newest = sql.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number;
  sql.prepare('DELETE FROM schema_migrations WHERE version = ?').run(newest);
  sql.close();
  const older = check(env);
  assert.equal(older.status, 2);
  assert.match(older.stderr, new RegExp(`schema version ${newest - 1} is older than this storaged's ${newest}`));
  const after = new Database(db, { readonly: true });
  assert.equal(after.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), newest - 1, 'still unmigrated');
  after.close();

  const newer = new Database(db);
  newer.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', ''), (?, 'future', '')").run(newest, newest + 1);
  newer.close();
  const future = check(env);
  assert.equal(future.status, 2);
  assert.match(future.stderr, /newer than this storaged/);
});

test('check --repair finishes what recovery would, only while the daemon is stopped', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { STORAGED_PENDING_TIMEOUT_S: '1' });
  const daemon = await spawnDaemon(t, env);
  const running = check(env, '--repair');
  assert.equal(running.status, 2);
  assert.match(running.stderr, /daemon is running/);
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const { id } = await insertPendingRow(path.join(dataDir, 'storage.db'), 'videos', true);
  const broken = check(env);
  assert.equal(broken.status, 1);
  assert.equal(broken.report.staleRows.pending, 1);
  const repaired = check(env, '--repair');
  assert.equal(repaired.status, 0, repaired.stderr);
  assert.equal(repaired.report.repaired.pendingRolledBack, 1);
  assert.equal(repaired.report.staleRows.pending, 0);
  const sql = new Database(path.join(dataDir, 'storage.db'), { readonly: true });
  assert.equal(sql.prepare('SELECT count(*) FROM photos WHERE id = ?').pluck().get(id), 0);
  sql.close();
});
