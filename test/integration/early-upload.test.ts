// A large body's parts go up to MinIO while the rest of it is still arriving:
// the store names the photo and records its pending row as soon as the bucket
// is settled, and either commits it with the digest of every byte or leaves
// nothing behind.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { allBlobs } from '../support/blob-presence';
import { jpegBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { minioPid } from '../support/minio-disk';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { incompleteUploadsOf } from '../support/incomplete-uploads';

const MIB = 1024 * 1024;
const SMALL_PARTS = { STORAGED_PART_BYTES: String(5 * MIB), STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB) };

/** A body sent up to `held` bytes, then held back until `release()` (or failed with `fail()`). */
function heldBody(bytes: Buffer, held: number): { stream: Readable; release: () => void; fail: (err: Error) => void } {
  let offset = 0;
  let released = false;
  let waiting = false;
  const pushNext = (stream: Readable) => {
    if (offset >= bytes.length) return void stream.push(null);
    if (!released && offset >= held) {
      // Nothing pushed: the stream asks again only after the next push, which release() makes.
      waiting = true;
      return;
    }
    const end = Math.min(bytes.length, offset + MIB, released ? bytes.length : held);
    stream.push(bytes.subarray(offset, end));
    offset = end;
  };
  const stream = new Readable({
    highWaterMark: MIB,
    read() {
      pushNext(this);
    },
  });
  return {
    stream,
    release: () => {
      released = true;
      if (waiting) {
        waiting = false;
        pushNext(stream);
      }
    },
    fail: (err) => stream.destroy(err),
  };
}

async function uploadsIn(minio: MinioHandle, bucket: string): Promise<Array<{ key: string; size: number }>> {
  const found: Array<{ key: string; size: number }> = [];
  for (const u of await incompleteUploadsOf(minio.client, bucket)) found.push({ key: u.key, size: u.size });
  return found;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  // A deadline for a hung test, not a speed requirement.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
    const found = await probe();
    if (found !== null) return found;
  }
  throw new Error(`gave up waiting for ${what}`);
}

test("a large body's parts go up while the rest still arrives, and it commits with the digest of every byte", { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const client = d.client('acme');
  const bytes = jpegBytes(30 * MIB + 77);
  const body = heldBody(bytes, 17 * MIB);
  const storing = client.storePhoto(body.stream, { originalName: 'early.jpg', clientId: 'acme', contentType: 'image/jpeg' });

  // Held at 17 MiB of 30: parts of the first 15 MiB are already in MinIO, and the row is pending, unseen.
  const upload = await waitFor('parts in MinIO', async () => {
    const uploads = await uploadsIn(minio, 'images-large');
    return uploads.length === 1 && uploads[0]!.size >= 15 * MIB ? uploads[0]! : null;
  });
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 1, committed: 0, deleting: 0 });
  assert.equal((await client.searchPhotos({})).total, 0);

  body.release();
  const stored = await storing;
  assert.equal(stored.s3_key, upload.key, 'the upload begun early is the one committed');
  assert.equal(stored.bucket, 'images-large');
  assert.equal(stored.size, bytes.length);
  assert.equal(stored.checksum, sha256(bytes));
  const photo = await client.getPhoto(stored.id);
  assert.equal(photo.size, bytes.length, 'the row holds the final size, not the size when the upload began');
  assert.equal(photo.checksum, sha256(bytes));
  const back = Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray());
  assert.ok(back.equals(bytes));
  assert.deepEqual(await uploadsIn(minio, 'images-large'), []);
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, 'spool')), []);
});

test('a caller that goes away after parts went up leaves no row, object, incomplete upload or spool file', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const client = d.client('acme');
  const body = heldBody(jpegBytes(30 * MIB), 17 * MIB);
  const storing = client.storePhoto(body.stream, { originalName: 'gone.jpg', clientId: 'acme', contentType: 'image/jpeg' });
  await waitFor('parts in MinIO', async () => ((await uploadsIn(minio, 'images-large')).some((u) => u.size > 0) ? true : null));

  body.fail(new Error('the caller crashed'));
  await assert.rejects(storing);
  await waitFor('the store to be undone', async () => {
    const counts = await d.daemon.catalog.countByState();
    const clean =
      counts.pending + counts.committed === 0 &&
      (await uploadsIn(minio, 'images-large')).length === 0 &&
      fs.readdirSync(path.join(d.dataDir, 'spool')).length === 0;
    return clean ? true : null;
  });
  assert.deepEqual(await allBlobs(minio, d.dataDir), []);
  // The daemon goes on serving.
  const bytes = jpegBytes(2 * MIB);
  assert.equal((await client.storePhoto(bytes, { originalName: 'after.jpg', clientId: 'acme' })).checksum, sha256(bytes));
});

test('an image that could still change bucket as it grows is not begun early, and lands in the bucket of its final size', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const client = d.client('acme');
  // 8 MiB: past one part (5 MiB) but under the large-image split (10 MiB), so it belongs in `images`.
  const small = jpegBytes(8 * MIB);
  const storedSmall = await client.storePhoto(Readable.from([small.subarray(0, 6 * MIB), small.subarray(6 * MIB)]), {
    originalName: 'eight.jpg',
    clientId: 'acme',
  });
  assert.equal(storedSmall.bucket, 'images');
  // 12 MiB crosses the split while it arrives: it must end in `images-large`, with all its bytes.
  const large = jpegBytes(12 * MIB);
  const storedLarge = await client.storePhoto(Readable.from([large.subarray(0, 6 * MIB), large.subarray(6 * MIB)]), {
    originalName: 'twelve.jpg',
    clientId: 'acme',
  });
  assert.equal(storedLarge.bucket, 'images-large');
  for (const [stored, bytes] of [[storedSmall, small], [storedLarge, large]] as const) {
    const back = Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray());
    assert.equal(sha256(back), sha256(bytes));
  }
});

test('a recovery pass while a store is still sending its parts leaves its upload alone, however old', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  // No grace at all: every incomplete upload is old enough for the sweep.
  const d = await startTestDaemon(t, minio, { env: { ...SMALL_PARTS, STORAGED_ORPHAN_GRACE_S: '0' } });
  const client = d.client('acme');
  const bytes = jpegBytes(30 * MIB);
  const body = heldBody(bytes, 17 * MIB);
  const storing = client.storePhoto(body.stream, { originalName: 'slow.jpg', clientId: 'acme', contentType: 'image/jpeg' });
  await waitFor('parts in MinIO', async () => ((await uploadsIn(minio, 'images-large')).some((u) => u.size > 0) ? true : null));

  const report = await d.daemon.recoverNow();
  assert.equal(report.uploadsAborted, 0, 'the upload of a store in flight is not an orphan');
  assert.equal(report.pendingRolledBack, 0);
  body.release();
  const stored = await storing;
  assert.equal(stored.checksum, sha256(bytes));
});

test('a store counts as in flight for recovery from its pending row to its answer, begun early or not', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: SMALL_PARTS });
  const client = d.client('acme');
  const pendingId = () => waitFor('a pending row', async () => (await d.daemon.catalog.staleRows('pending', new Date(Date.now() + 3_600_000).toISOString(), 1))[0]?.id ?? null);

  // Begun early: the row comes while the body is held back.
  const body = heldBody(jpegBytes(30 * MIB), 17 * MIB);
  const early = client.storePhoto(body.stream, { originalName: 'early.jpg', clientId: 'acme', contentType: 'image/jpeg' });
  const earlyId = await pendingId();
  assert.ok(d.daemon.coordinator.isStoreInFlight(earlyId));
  body.release();
  await early;
  assert.equal(d.daemon.coordinator.isStoreInFlight(earlyId), false);

  // The usual way: the row comes once the body is in, and the store waits on a MinIO that does not answer.
  const pid = minioPid(minio);
  process.kill(pid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // MinIO already stopped by its own clean-up.
    }
  });
  const usual = client.storePhoto(jpegBytes(2 * MIB), { originalName: 'usual.jpg', clientId: 'acme' });
  const usualId = await pendingId();
  assert.ok(d.daemon.coordinator.isStoreInFlight(usualId));
  process.kill(pid, 'SIGCONT');
  await usual;
  assert.equal(d.daemon.coordinator.isStoreInFlight(usualId), false);
});
