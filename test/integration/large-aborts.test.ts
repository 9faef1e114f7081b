// Large stores that fail part-way, end to end through the daemon and a real
// MinIO: the client killed mid-body, an HTTP client gone while the parts go
// up, MinIO stopped mid-transfer, a part MinIO refuses. Afterwards nothing may remain: no row,
// no object, no incomplete multipart upload (listed per bucket and, because
// MinIO lists an upload begun before its last restart only by its exact key,
// by key too), no spool file.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { BUCKETS } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startGateway } from '../gateway/gateway-fixture';
import { allBlobs } from '../support/blob-presence';
import { rejectsWithCode } from '../support/expect-code';
import { jpegBytes } from '../support/image-bytes';
import { startTestDaemon, type TestDaemon } from '../support/in-process-daemon';
import { breakPartDir, freezeAtFirstPart } from '../support/minio-disk';
import { waitFor } from '../support/wait-for';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { incompleteUploadsOf } from '../support/incomplete-uploads';

const MIB = 1024 * 1024;
/** Ten 5 MiB parts, sent one at a time, so a transfer has parts done and parts to go for a while. */
const SIZE = 48 * MIB;
const SMALL_PARTS = {
  STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
  STORAGED_PART_BYTES: String(5 * MIB),
  STORAGED_PART_CONCURRENCY: '1',
  STORAGED_MAX_BODY_BYTES: String(64 * MIB),
  STORAGED_PENDING_TIMEOUT_S: '1',
};

interface ObjectRef {
  bucket: string;
  key: string;
}

const spoolFiles = (d: TestDaemon) => fs.readdirSync(path.join(d.dataDir, 'spool'));

/** Rows of stores in progress (read from the daemon's SQLite file). */
async function pendingObjects(d: TestDaemon): Promise<Array<ObjectRef & { id: string }>> {
  const everything = new Date(Date.now() + 3_600_000).toISOString();
  return (await d.daemon.catalog.staleRows('pending', everything, 10)).map((r) => ({ id: r.id, bucket: r.bucket, key: r.s3_key }));
}

async function incompleteUploads(minio: MinioHandle, byKey: ObjectRef[]): Promise<string[]> {
  const found = new Set<string>();
  const list = async (bucket: string, prefix: string) => {
    for (const u of await incompleteUploadsOf(minio.client, bucket, prefix)) found.add(`${bucket}/${u.key}`);
  };
  for (const bucket of BUCKETS) await list(bucket, '');
  for (const { bucket, key } of byKey) await list(bucket, key);
  return [...found].sort();
}

async function assertNothingLeft(minio: MinioHandle, d: TestDaemon, byKey: ObjectRef[]): Promise<void> {
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 }, 'no row');
  assert.deepEqual(await allBlobs(minio, d.dataDir), [], 'no object');
  assert.deepEqual(await incompleteUploads(minio, byKey), [], 'no incomplete multipart upload');
  assert.deepEqual(spoolFiles(d), [], 'no spool file');
}

/** The daemon still stores afterwards (the failure cost nothing but its own call). */
async function assertStillStores(d: TestDaemon): Promise<void> {
  const stored = await d.client('acme').storePhoto(jpegBytes(12 * MIB), { originalName: 'after.jpg', clientId: 'acme' });
  assert.equal(stored.size, 12 * MIB);
}

function spawnUploader(t: TestContext, d: TestDaemon, sendBytes: number) {
  const script = path.join(__dirname, '../support/upload-large.js');
  const child = spawn(process.execPath, [script, d.socketPath, 'acme', String(SIZE), String(sendBytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { output: () => out, kill: async () => void (child.kill('SIGKILL'), await exited) };
}

/** A store from this process; its failure is awaited later, so it must not count as unhandled meanwhile. */
function startStore(t: TestContext, d: TestDaemon, name: string): Promise<unknown> {
  const storing = slowClient(t, d).storePhoto(jpegBytes(SIZE), { originalName: name, clientId: 'acme' });
  storing.catch(() => undefined);
  return storing;
}

function slowClient(t: TestContext, d: TestDaemon): StorageClient {
  // Long enough for a store that retries its parts, then its abort, against a stopped MinIO.
  const client = new StorageClient({ socketPath: d.socketPath, clientId: 'acme', callTimeoutMs: 120_000, retry: false });
  t.after(() => client.close());
  return client;
}

test('a client killed mid-body: no row, object, upload or spool file', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const uploader = spawnUploader(t, d, 20 * MIB);
  await waitFor(() => uploader.output().includes('holding'), 'the uploader to hold back the rest');
  // 20 MiB are on their way; the daemon is spooling them.
  await waitFor(() => spoolFiles(d).length === 1, 'a spool file');
  await uploader.kill();

  // The store ends after its spool file goes: a multipart upload begun early is aborted then.
  await waitFor(() => spoolFiles(d).length === 0 && d.daemon.coordinator.metrics.failures('CLOSED') > 0, 'the store to fail');
  assert.equal(d.daemon.coordinator.metrics.failures('CLOSED'), 1);
  await assertNothingLeft(minio, d, []);
  await assertStillStores(d);
});

test('a client killed after its whole body is in, while the parts go up: the store is undone, not committed', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const hashedBefore = metricsOf(d.daemon.pool).bytesHashed;
  const uploader = spawnUploader(t, d, SIZE);
  const frozen = await freezeAtFirstPart(minio);
  const [store] = await pendingObjects(d);
  assert.ok(store, 'the parts are going up');
  // The whole body is in (received and hashed) while MinIO holds the transfer at its first part.
  await waitFor(() => metricsOf(d.daemon.pool).bytesHashed - hashedBefore >= SIZE, 'the whole body to be received');
  await uploader.kill();
  // The end of its stream alone does not say the client is gone (it may have half-closed to
  // read its answer); the daemon finds out by writing to it, and drops the connection.
  await waitFor(() => d.daemon.socket.stats().connections === 0, 'the daemon to drop the dead connection', 20_000);
  frozen.resume();

  await waitFor(() => !d.daemon.coordinator.isStoreInFlight(store.id), 'the store to end');
  assert.equal(d.daemon.coordinator.metrics.failures('CLOSED'), 1);
  await assertNothingLeft(minio, d, [store]);
  await assertStillStores(d);
});

test('an HTTP client gone while the parts go up: the upload is aborted, nothing is left', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio, SMALL_PARTS);
  const aborted = metricsOf(g.daemon.pool).uploadsAborted;
  const leave = new AbortController();
  const posting = g.call('POST', '/photos?filename=gone.jpg', { body: jpegBytes(SIZE), headers: { 'content-type': 'image/jpeg' }, signal: leave.signal });
  posting.catch(() => undefined);

  const frozen = await freezeAtFirstPart(minio);
  const [store] = await pendingObjects(g);
  assert.ok(store, 'the parts are going up (the body may still be arriving: the upload begins early)');
  leave.abort();
  // The gateway logs the request as 499 the moment it sees the caller go; only then may MinIO go on.
  await waitFor(() => g.logs.some((l) => l.msg === 'http request' && l.status === 499), 'the gateway to see the caller go');
  frozen.resume();

  await waitFor(() => !g.daemon.coordinator.isStoreInFlight(store.id), 'the store to end');
  assert.equal(g.daemon.coordinator.metrics.failures('CLOSED'), 1);
  assert.equal(metricsOf(g.daemon.pool).uploadsAborted - aborted, 1, 'the multipart upload was aborted');
  await assertNothingLeft(minio, g, [store]);
  await assertStillStores(g);
});

test('a part MinIO refuses fails the store; the upload is aborted, nothing is left', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const aborted = metricsOf(d.daemon.pool).uploadsAborted;
  const storing = startStore(t, d, 'refused.jpg');

  const frozen = await freezeAtFirstPart(minio);
  const [store] = await pendingObjects(d);
  assert.ok(store);
  breakPartDir(frozen.partDir);
  frozen.resume();

  // MinIO cannot place the part and answers NoSuchUpload: a failure no retry mends.
  await rejectsWithCode(storing, 'UNAVAILABLE', /lost what this store was writing .*NoSuchUpload.*retry/);
  assert.equal(metricsOf(d.daemon.pool).uploadsAborted - aborted, 1, 'the multipart upload was aborted');
  await assertNothingLeft(minio, d, [store]);
  await assertStillStores(d);
});

test('MinIO stopped mid-transfer: UNAVAILABLE; once it is back, recovery aborts the upload by its key', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const storing = startStore(t, d, 'stranded.jpg');

  const frozen = await freezeAtFirstPart(minio);
  const [store] = await pendingObjects(d);
  assert.ok(store);
  const stopped = minio.stop();
  frozen.resume(); // lets the SIGTERM that stop() sent take effect
  await stopped;
  await rejectsWithCode(storing, 'UNAVAILABLE', /MinIO at 127\.0\.0\.1:\d+/);

  // Neither the upload nor the object could be cleaned with MinIO down, so
  // the row stays `pending`: it is what leads recovery to the upload's key.
  assert.deepEqual(await pendingObjects(d), [store]);
  assert.equal(d.daemon.coordinator.isStoreInFlight(store.id), false);
  assert.deepEqual(spoolFiles(d), [], 'the spool file goes with the failed call');

  await minio.restart();
  assert.deepEqual(await incompleteUploads(minio, [store]), [`${store.bucket}/${store.key}`], 'the upload outlived the outage');
  let uploadsAborted = 0;
  await waitFor(async () => {
    const report = await d.daemon.recoverNow();
    uploadsAborted += report.uploadsAborted;
    return report.pendingRolledBack === 1;
  }, 'recovery to roll the store back');
  assert.equal(uploadsAborted, 1);
  await assertNothingLeft(minio, d, [store]);
  await assertStillStores(d);
});
