// Backups of the catalog and restore from them, as an operator runs them:
// backups taken while stores run and pruned to the keep count; a restore from
// the latest or a named backup brings back the photos stored after it (from
// their objects) and the updates made after it (from their update records),
// and drops the ones deleted since; a damaged backup is
// refused and changes nothing; a failing backup is counted and shown, and the
// daemon serves on.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { PhotoResult } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon, type DaemonProcess } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const TOKEN = randomBytes(24).toString('base64url');
const ADMIN = randomBytes(24).toString('base64url');
const TOKENS = `${TOKEN} acme, ${ADMIN} ops admin`;

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, report: r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

function clientOf(t: TestContext, daemon: DaemonProcess) {
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token: TOKEN });
  t.after(() => client.close());
  return client;
}

const store = (client: StorageClient, name: string) => client.storePhoto(pngBytes(2000 + name.length), { originalName: name, clientId: 'acme', userId: 'u' });

async function backupsTaken(daemon: DaemonProcess, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (daemon.stdout().split('catalog backup taken').length - 1 >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${n} backups taken\n${daemon.stdout()}`);
}

async function restoreFlow(t: TestContext, minio: MinioHandle | null) {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { STORAGED_TOKENS: TOKENS, BACKUP_INTERVAL: '0' });
  let daemon = await spawnDaemon(t, env);
  let client = clientOf(t, daemon);
  const before: PhotoResult[] = [];
  for (const name of ['a1.png', 'a2.png', 'a3.png']) before.push(await store(client, name));
  await client.updatePhotoMetadata(before[0]!.id, { processing_status: 'in_progress' });

  const first = storaged(env, 'backup');
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.report.schemaVersion >= 2, true);
  const after: PhotoResult[] = [];
  for (const name of ['c1.png', 'c2.png']) after.push(await store(client, name));
  await client.deletePhoto(before[1]!.id);
  await client.updatePhotoMetadata(before[2]!.id, { processing_status: 'in_progress' });

  assert.equal(storaged(env, 'restore').status, 2, 'refused while the daemon runs');
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const restored = storaged(env, 'restore', '--from', first.report.name);
  assert.equal(restored.status, 0, restored.stderr);
  const r = restored.report;
  assert.equal(r.restoredFrom.name, first.report.name);
  assert.equal(r.readopted.adopted, 2, 'the photos stored after the backup came back');
  assert.deepEqual(r.removedRows, { count: 1, ids: [before[1]!.id] }, 'the photo deleted after the backup stays deleted');
  assert.match(r.lost, /nothing acknowledged/);
  assert.equal(r.readopted.recordsApplied, 1, "the update after the backup came back from the photo's update record");
  assert.ok(r.movedAside && fs.existsSync(r.movedAside), 'the database that was there is kept aside');

  daemon = await spawnDaemon(t, env);
  client = clientOf(t, daemon);
  for (const p of after) assert.equal((await client.getPhoto(p.id)).original_filename, p.id === after[0]!.id ? 'c1.png' : 'c2.png');
  await assert.rejects(client.getPhoto(before[1]!.id), { code: 'NOT_FOUND' });
  assert.equal((await client.getPhoto(before[0]!.id)).processing_status, 'in_progress', 'an update before the backup is kept');
  assert.equal((await client.getPhoto(before[2]!.id)).processing_status, 'in_progress', 'an update after it comes back from its record');

  const second = storaged(env, 'backup');
  assert.equal(second.status, 0);
  const listed = storaged(env, 'backup', '--list');
  assert.deepEqual(listed.report.map((m: { name: string }) => m.name), [second.report.name, first.report.name], 'newest first');
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);
  const latest = storaged(env, 'restore');
  assert.equal(latest.status, 0, latest.stderr);
  assert.equal(latest.report.restoredFrom.name, second.report.name);
  assert.equal(latest.report.readopted.adopted, 0);
  return { dataDir, env, backupName: second.report.name as string };
}

test('restore from a named and the latest backup on MinIO brings back what was stored since, and drops what was deleted', { timeout: 120_000 }, async (t) => {
  await restoreFlow(t, await startMinio(t));
});

test('restore on the local backend; a damaged backup is refused and changes nothing', { timeout: 120_000 }, async (t) => {
  const { dataDir, env, backupName } = await restoreFlow(t, null);
  const file = path.join(dataDir, 'blobs', 'backups', 'storaged', `${backupName}.sqlite`);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
  fs.writeFileSync(file, bytes);
  const db = path.join(dataDir, 'storage.db');
  const digest = () => createHash('sha256').update(fs.readFileSync(db)).digest('hex');
  const was = digest();
  const r = storaged(env, 'restore', '--from', backupName);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /damaged/);
  assert.equal(digest(), was);
  assert.equal(storaged(env, 'restore', '--from', 'catalog-20200101T000000000Z').status, 2);
  assert.equal(storaged(env, 'restore', '--from', '../etc/passwd').status, 2);
  assert.equal(storaged(env, 'restore', '--frm', 'x').status, 64);
});

test('backups run on their interval while stores run, keep the newest N, and each is a whole, consistent catalog', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { STORAGED_TOKENS: TOKENS, BACKUP_INTERVAL: '1', STORAGED_BACKUP_KEEP: '2' });
  const daemon = await spawnDaemon(t, env);
  const client = clientOf(t, daemon);
  const acked: Array<{ id: string; at: number }> = [];
  let storing = true;
  const writer = (async () => {
    for (let i = 0; storing; i++) acked.push({ id: (await store(client, `s${i}.png`)).id, at: Date.now() });
  })();
  await backupsTaken(daemon, 3);
  storing = false;
  await writer;
  // The next backup may be between its upload and its pruning; a stopping daemon finishes it.
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const listed = storaged(env, 'backup', '--list').report as Array<{ name: string; createdAt: string; sha256: string }>;
  assert.equal(listed.length, 2, 'pruned to STORAGED_BACKUP_KEEP');
  const newest = listed[0]!;
  const copy = path.join(tempDir(t), 'copy.sqlite');
  await minio.client.fGetObject('backups', `storaged/${newest.name}.sqlite`, copy);
  assert.equal(createHash('sha256').update(fs.readFileSync(copy)).digest('hex'), newest.sha256);
  const db = new Database(copy, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  const rows = new Set(db.prepare("SELECT id FROM photos WHERE state = 'committed'").pluck().all() as string[]);
  const takenAt = Date.parse(newest.createdAt);
  const before = acked.filter((a) => a.at < takenAt);
  assert.ok(before.length > 0);
  for (const a of before) assert.ok(rows.has(a.id), 'every store acknowledged before the snapshot is in it');
});

test('a failing backup is counted in /metrics and shown in /ready, and the daemon serves on', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { STORAGED_TOKENS: TOKENS, BACKUP_INTERVAL: '1' });
  const daemon = await spawnDaemon(t, env);
  // Where the namespace's backups would go is a file: every backup fails.
  const backups = path.join(dataDir, 'blobs', 'backups');
  fs.rmSync(backups, { recursive: true, force: true });
  fs.mkdirSync(backups);
  fs.writeFileSync(path.join(backups, 'storaged'), 'in the way');
  for (let i = 0; i < 200 && !daemon.stdout().includes('catalog backup failed'); i++) await new Promise((r) => setTimeout(r, 50));
  const auth = { authorization: `Bearer ${ADMIN}` };
  const ready = (await (await fetch(`${daemon.httpUrl}/ready`, { headers: auth })).json()) as {
    status: string;
    details: { backup: { lastFailure: { error: string } | null } };
  };
  assert.equal(ready.status, 'ready', 'a failed backup does not take the daemon out of service');
  assert.ok(ready.details.backup.lastFailure);
  const metrics = await (await fetch(`${daemon.httpUrl}/metrics`, { headers: auth })).text();
  assert.match(metrics, /storaged_backups_total\{result="failed"\} [1-9]/);
  const client = clientOf(t, daemon);
  assert.ok((await store(client, 'still.png')).id);
});

test("a lost catalog's backups outlive the keep count: the daemon's new catalog prunes only its own", { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { STORAGED_TOKENS: TOKENS, BACKUP_INTERVAL: '0', STORAGED_BACKUP_KEEP: '2' });
  let daemon = await spawnDaemon(t, env);
  let client = clientOf(t, daemon);
  const stored = [await store(client, 'kept1.png'), await store(client, 'kept2.png')];
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);
  const good = [storaged(env, 'backup'), storaged(env, 'backup')];
  for (const b of good) assert.equal(b.status, 0, b.stderr);

  // The database file is lost; the next daemon starts on an empty catalog and is backed up past the keep count.
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dataDir, `storage.db${suffix}`), { force: true });
  daemon = await spawnDaemon(t, env);
  assert.equal(await daemon.stop('SIGTERM'), 0);
  for (let i = 0; i < 3; i++) assert.equal(storaged(env, 'backup').status, 0);

  const listed = storaged(env, 'backup', '--list').report as Array<{ name: string; catalogId: string }>;
  const lost = good.map((b) => b.report.name as string);
  assert.deepEqual(
    listed.filter((m) => m.catalogId === good[0]!.report.catalogId).map((m) => m.name),
    [...lost].reverse(),
    "the lost catalog's backups are all still there",
  );
  const empty = listed.filter((m) => m.catalogId !== good[0]!.report.catalogId);
  assert.equal(empty.length, 2, "the new catalog's own backups are pruned to STORAGED_BACKUP_KEEP");

  const r = storaged(env, 'restore', '--from', lost[1]!);
  assert.equal(r.status, 0, r.stderr);
  daemon = await spawnDaemon(t, env);
  client = clientOf(t, daemon);
  for (const photo of stored) assert.equal((await client.getPhoto(photo.id))?.id, photo.id);
});
