// Many hosts, one catalog: two storaged processes, each with its own socket
// and node id, share one PostgreSQL catalog and one MinIO. What one stores
// the other reads, finds, changes and deletes; stores through both at once
// all land; and when one is killed with -9 in the middle of a store, the
// other's recovery rolls that store back once the pending timeout has passed,
// leaving MinIO and PostgreSQL in agreement.

import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Client } from 'pg';
import { BUCKETS } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startCatalogDatabase } from '../support/catalog-database';
import type { DaemonProcess } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { sharedCatalogStarter } from '../support/shared-catalog-daemon';
import { waitFor } from '../support/wait-for';

const PENDING_TIMEOUT_S = 3;

/** Starts a daemon of the shared catalog under a node id (debug logs: recovery passes show). */
function starter(t: TestContext, minio: MinioHandle, url: string, pendingTimeoutS = PENDING_TIMEOUT_S) {
  return sharedCatalogStarter(t, minio, url, {
    STORAGED_PENDING_TIMEOUT_S: String(pendingTimeoutS),
    STORAGED_RECOVERY_INTERVAL_S: '1',
    STORAGED_SPOOL_THRESHOLD_BYTES: String(256 * 1024),
    LOG_LEVEL: 'debug',
  });
}

async function startPair(t: TestContext, minio: MinioHandle, url: string): Promise<[DaemonProcess, DaemonProcess]> {
  const start = starter(t, minio, url);
  // One after the other: the second finds the schema migrated by the first (ten at once are tested with the migrations).
  const a = await start('node-a');
  const b = await start('node-b');
  return [a, b];
}

function clientOf(t: TestContext, d: DaemonProcess): StorageClient {
  // No client cache: each call must reach its daemon, so what the test sees is the catalog's answer.
  const client = new StorageClient({ socketPath: d.socketPath, clientId: 'acme', retry: false, cacheConfig: { enabled: false } });
  t.after(() => client.close());
  return client;
}

type Query = <T extends object>(sql: string, values?: unknown[]) => Promise<T[]>;

/** Reads the shared catalog directly, on a connection of the test's own. */
async function catalogReader(t: TestContext, url: string): Promise<Query> {
  const client = new Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  return async <T extends object>(sql: string, values: unknown[] = []) => (await client.query<T>(sql, values)).rows;
}

async function objectsInMinio(minio: MinioHandle): Promise<string[]> {
  const found: string[] = [];
  for (const bucket of BUCKETS) {
    if (!(await minio.client.bucketExists(bucket))) continue;
    for await (const o of minio.client.listObjectsV2(bucket, '', true)) found.push(`${bucket}/${o.name}`);
  }
  return found.sort();
}

async function incompleteUploads(minio: MinioHandle): Promise<number> {
  let n = 0;
  for (const bucket of BUCKETS) {
    if (!(await minio.client.bucketExists(bucket))) continue;
    for await (const _ of minio.client.listIncompleteUploads(bucket, '', true)) n++;
  }
  return n;
}

/** Every row committed with its object, every object with its committed row, nothing unfinished. */
async function assertAgreement(minio: MinioHandle, query: Query): Promise<void> {
  const rows = await query<{ bucket: string; s3_key: string; state: string }>('SELECT bucket, s3_key, state FROM photos');
  assert.deepEqual(rows.filter((r) => r.state !== 'committed'), [], 'no pending or deleting row is left');
  assert.deepEqual(rows.map((r) => `${r.bucket}/${r.s3_key}`).sort(), await objectsInMinio(minio), 'rows and objects name each other');
  assert.equal(await incompleteUploads(minio), 0, 'no incomplete multipart upload is left');
}

test('two daemons on one PostgreSQL catalog serve the same photos', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  const [a, b] = await startPair(t, minio, url);
  const query = await catalogReader(t, url);
  disposeLast();
  const viaA = clientOf(t, a);
  const viaB = clientOf(t, b);

  const stored = await viaA.storePhoto(pngBytes(5000), { originalName: 'harbour-dawn.png', clientId: 'acme', userId: 'u-1' });
  assert.equal((await viaB.getPhoto(stored.id)).checksum, stored.checksum, 'stored through A, read through B');
  assert.deepEqual((await viaB.searchPhotos({ query: 'harbour' })).photos.map((p) => p.id), [stored.id]);
  assert.equal((await viaB.getUserPhotos('u-1')).pagination.total, 1);

  // A has the photo in its getPhoto cache now; B's change reaches it by NOTIFY, after B's COMMIT (shared-photo-cache.ts).
  assert.equal((await viaA.getPhoto(stored.id)).processing_status, 'queued');
  await viaB.updatePhotoMetadata(stored.id, { processing_status: 'in_progress', metadata: { by: 'b' } });
  await waitFor(async () => (await viaA.getPhoto(stored.id)).processing_status === 'in_progress', "B's update to evict A's cached copy", 10_000);
  assert.deepEqual((await viaA.getPhoto(stored.id)).metadata, { by: 'b' });
  // A transition is checked against the row both share: A cannot take it back to queued.
  await assert.rejects(viaA.updatePhotoMetadata(stored.id, { processing_status: 'queued' }), { code: 'CONFLICT' });

  await viaB.deletePhoto(stored.id);
  await waitFor(() => viaA.getPhoto(stored.id).then(() => false, (err: { code?: string }) => err.code === 'NOT_FOUND'), "B's delete to reach A's cache", 10_000);
  await assert.rejects(viaB.getPhoto(stored.id), { code: 'NOT_FOUND' });

  // Stores through both at once: every one lands once and reads back through the other daemon.
  const both = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      (i % 2 === 0 ? viaA : viaB).storePhoto(pngBytes(3000 + i), { originalName: `together-${i}.png`, clientId: 'acme', userId: 'u-2' }),
    ),
  );
  assert.equal(new Set(both.map((p) => p.id)).size, 24);
  for (const [i, photo] of both.entries()) assert.equal((await (i % 2 === 0 ? viaB : viaA).getPhoto(photo.id)).size, photo.size);
  assert.equal((await viaA.getUserPhotos('u-2', { limit: 100 })).pagination.total, 24);
  await assertAgreement(minio, query);
});

test('kill -9 of one daemon mid-store: the other rolls the store back after the pending timeout', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  const [a, b] = await startPair(t, minio, url);
  const query = await catalogReader(t, url);
  disposeLast();
  const kept = await clientOf(t, b).storePhoto(pngBytes(4000), { originalName: 'kept.png', clientId: 'acme' });
  const id = await killMidStore(t, a, query);

  // B leaves A's row alone while it may still be A's store in progress (younger than the timeout), then rolls it back.
  await waitFor(
    async () => (await query('SELECT 1 FROM photos WHERE id = $1', [id])).length === 0,
    "B's recovery to roll A's store back",
    (PENDING_TIMEOUT_S + 15) * 1000,
  );
  await waitFor(async () => (await incompleteUploads(minio)) === 0, 'the cut-off upload to be aborted', 15_000);
  assert.equal((await clientOf(t, b).getPhoto(kept.id)).id, kept.id, 'the committed photo is untouched');
  await assertAgreement(minio, query);
});

test('a daemon restarted under its node id rolls its own cut-off store back at start; another node leaves it alone', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  // A timeout far longer than the test: only ownership can explain a rollback.
  const start = starter(t, minio, url, 3600);
  const a = await start('node-a');
  const b = await start('node-b');
  const query = await catalogReader(t, url);
  disposeLast();
  const id = await killMidStore(t, a, query);

  // Two of B's recovery passes (every second) after the kill: A's young row is not B's to touch.
  const passes = () => b.stdout().split('\n').filter((line) => line.includes('"recovery pass finished"')).length;
  const seen = passes();
  await waitFor(() => passes() >= seen + 2, "two of B's recovery passes", 30_000);
  assert.equal((await query('SELECT 1 FROM photos WHERE id = $1', [id])).length, 1, "another node's young row is left alone");

  // A again, under the same node id: its start-up recovery settles its own row before it says ready.
  await start('node-a');
  assert.deepEqual(await query('SELECT id FROM photos WHERE id = $1', [id]), [], 'its own row, rolled back at start');
  await waitFor(async () => (await incompleteUploads(minio)) === 0, 'the cut-off upload to be aborted', 15_000);
  await assertAgreement(minio, query);
});

/** A store through `d` whose body keeps coming, until `d` is killed with -9 once its pending row exists; resolves to that row's id. */
async function killMidStore(t: TestContext, d: DaemonProcess, query: Query): Promise<string> {
  // A body that keeps coming: past the spool threshold the daemon inserts its pending row and starts the upload.
  const viaA = new StorageClient({ socketPath: d.socketPath, clientId: 'acme', retry: false, callTimeoutMs: 120_000 });
  t.after(() => viaA.close());
  const body = new PassThrough();
  const storing = viaA.storePhoto(body, { originalName: 'cut-off.png', clientId: 'acme' }).catch((err: unknown) => err);
  body.write(pngBytes(64 * 1024));
  const feeding = setInterval(() => body.write(Buffer.alloc(64 * 1024, 7)), 20);
  t.after(() => clearInterval(feeding));
  let pending: { id: string; node_id: string } | undefined;
  await waitFor(async () => {
    [pending] = await query<{ id: string; node_id: string }>("SELECT id, node_id FROM photos WHERE state = 'pending'");
    return pending !== undefined;
  }, "A's pending row", 20_000);
  const { id, node_id } = pending!;
  assert.equal(node_id, 'node-a', 'the pending row names the node that owns it');

  await d.stop('SIGKILL');
  clearInterval(feeding);
  assert.equal((await storing as { code?: string }).code !== undefined, true, 'the store failed with the daemon');
  return id;
}

test("a store still receiving its body past another node's pending timeout is rolled back there: it fails UNAVAILABLE and leaves nothing", { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  // A rolls back anything pending for over a second; B, whose store it is, would wait an hour.
  const a = await starter(t, minio, url, 1)('node-a');
  const b = await starter(t, minio, url, 3600)('node-b');
  const query = await catalogReader(t, url);
  disposeLast();

  const viaB = new StorageClient({ socketPath: b.socketPath, clientId: 'acme', retry: false, callTimeoutMs: 120_000 });
  t.after(() => viaB.close());
  const body = new PassThrough();
  const storing = viaB.storePhoto(body, { originalName: 'slow-body.png', clientId: 'acme' }).then(
    () => null,
    (err: { code?: string }) => err,
  );
  body.write(pngBytes(64 * 1024));
  let feeding: NodeJS.Timeout | undefined = setInterval(() => body.write(Buffer.alloc(64 * 1024, 7)), 20);
  t.after(() => clearInterval(feeding));
  let id: string | undefined;
  await waitFor(async () => {
    id = (await query<{ id: string }>("SELECT id FROM photos WHERE state = 'pending' AND node_id = 'node-b'"))[0]?.id;
    return id !== undefined;
  }, "B's pending row, its upload begun", 20_000);
  // A's periodic recovery takes B's row as abandoned while B's body still arrives.
  await waitFor(async () => (await query('SELECT 1 FROM photos WHERE id = $1', [id])).length === 0, "A's recovery to roll B's store back", 20_000);
  clearInterval(feeding);
  feeding = undefined;
  body.end(Buffer.alloc(64 * 1024, 7));

  const failure = await storing;
  assert.equal(failure?.code, 'UNAVAILABLE', 'B does not acknowledge a store whose row is gone; its caller may retry');
  // A's pass logs its counts once it has finished every step, which may be after B's caller heard.
  await waitFor(() => /"pendingRolledBack":1/.test(a.stdout()), "A's recovery pass to report the rollback", 20_000);
  await assertAgreement(minio, query);
  assert.deepEqual(await objectsInMinio(minio), [], 'nothing of the store is left');
});
