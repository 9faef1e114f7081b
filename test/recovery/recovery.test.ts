// Recovery puts the two stores back in agreement after whatever a crash left:
// every state it handles is built here by hand, on both blob backends.

import * as assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import type { ObjectIdentity } from '../../src/daemon/blobs/object-identity';
import { checkIncompleteUploads } from '../../src/daemon/check/upload-check';
import { Catalog } from '../../src/daemon/db/catalog';
import { objectKey } from '../../src/daemon/db/object-key';
import { recover } from '../../src/daemon/recovery/recovery';
import { BUCKETS } from '../../src/protocol/types';
import { blobStoreFor, type BlobBackend } from '../blobs/blob-store-for';
import { pngBytes } from '../support/image-bytes';
import type { MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const silent = pino({ level: 'silent' });

function identityOf(catalog: Catalog, id: string, uploadedAt: string, catalogId = catalog.catalogId): ObjectIdentity {
  return {
    id, catalogId, clientId: 'c', userId: 'u', sessionId: null, originalFilename: 'o.png', mimeType: 'image/png',
    size: 100, sha256: null, uploadedAt,
  };
}

let lastMinio: MinioHandle | null = null;

async function storeFor(t: TestContext, backend: BlobBackend): Promise<BlobStore> {
  const { store, minio } = await blobStoreFor(t, backend);
  if (minio !== null) lastMinio = minio;
  return store;
}

async function setup(t: TestContext, backend: 'fs' | 'minio') {
  const blobs = await storeFor(t, backend);
  await blobs.ensureBuckets(BUCKETS);
  const dbPath = path.join(tempDir(t), 'r.db');
  const catalog = Catalog.open({ path: dbPath, logger: silent });
  t.after(() => catalog.close());

  /** A pending row, with its blob written as `blob` says. */
  const pending = async (blob: 'none' | 'right' | 'wrong-bytes') => {
    const id = randomUUID();
    const body = pngBytes(3000);
    const key = objectKey(id, 'x.png', new Date());
    await catalog.insertPending({
      id, client_id: 'c', user_id: null, session_id: null, original_filename: 'x.png', mime_type: 'image/png',
      bucket: 'images', s3_key: key, size: body.length, checksum: createHash('sha256').update(body).digest('hex'), metadata: {},
    });
    if (blob === 'right') await blobs.put('images', key, { buffer: body }, body.length, 'image/png');
    if (blob === 'wrong-bytes') {
      const other = pngBytes(3000);
      await blobs.put('images', key, { buffer: other }, other.length, 'image/png');
    }
    return { id, key };
  };
  /** Makes a row look as if its store began long ago (and died). */
  const age = (id: string) => {
    const db = new Database(dbPath);
    db.prepare('UPDATE photos SET state_changed_at = ? WHERE id = ?').run('2020-01-01T00:00:00.000Z', id);
    db.close();
  };
  return { blobs, catalog, pending, age };
}

async function incompleteKeys(minio: MinioHandle, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const u of minio.client.listIncompleteUploads(bucket, prefix, true)) keys.push(u.key);
  return keys.sort();
}

for (const backend of ['fs', 'minio'] as const) {
  describe(`recovery on the ${backend} backend`, { timeout: 60_000 }, () => {
    test('pending rows: committed when the blob matches, rolled back otherwise', async (t) => {
      const { blobs, catalog, pending } = await setup(t, backend);
      const good = await pending('right');
      const missing = await pending('none');
      const corrupt = await pending('wrong-bytes');
      const abandoned = await pending('none');
      const inFlight = await pending('none');

      const report = await recover(catalog, blobs, {
        pendingTimeoutMs: 0,
        orphanGraceMs: 3600_000,
        isInFlight: (id) => id === inFlight.id,
      }, silent, Date.now() + 1000);

      assert.equal(report.pendingCommitted, 1);
      assert.equal(report.pendingRolledBack, 3);
      assert.equal((await catalog.getPhoto('c', good.id))?.id, good.id);
      assert.equal(await catalog.getPhoto('c', missing.id), null);
      assert.equal(await catalog.getPhoto('c', corrupt.id), null);
      assert.equal(await blobs.stat('images', corrupt.key), null, 'a blob with the wrong bytes is removed with its row');
      assert.equal(await catalog.isKnownBlob('images', missing.key), false);
      assert.equal(await catalog.isKnownBlob('images', abandoned.key), false);
      assert.equal(await catalog.isKnownBlob('images', inFlight.key), true, 'a store this process is still running is left alone');

      // A pending row younger than the timeout belongs to a store that may still finish.
      const fresh = await pending('none');
      await recover(catalog, blobs, { pendingTimeoutMs: 3600_000, orphanGraceMs: 3600_000 }, silent);
      assert.equal(await catalog.isKnownBlob('images', fresh.key), true);
    });

    test('deleting rows are finished and orphans past the grace period removed', async (t) => {
      const { blobs, catalog, pending } = await setup(t, backend);
      const doomed = await pending('right');
      await catalog.commitPending(doomed.id);
      await catalog.markDeleting('c', doomed.id);
      const kept = await pending('right');
      await catalog.commitPending(kept.id);
      // An unacknowledged store's leftover: this catalog's identity, dated while it was live (before a later pending insert).
      const orphanId = randomUUID();
      const orphanKey = objectKey(orphanId, 'o.png', new Date());
      const writtenAt = new Date().toISOString();
      await pending('none');
      await blobs.put('images', orphanKey, { buffer: pngBytes(100) }, 100, 'image/png', undefined, undefined, identityOf(catalog, orphanId, writtenAt));

      // Within the grace period an orphan may be a store's blob whose row is on its way: keep it.
      let report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 3600_000 }, silent, Date.now() + 120_000);
      assert.equal(report.deletesFinished, 1);
      assert.equal(report.orphansRemoved, 0);
      assert.equal(await blobs.stat('images', doomed.key), null);
      assert.deepEqual(await catalog.countByState(), { pending: 0, committed: 1, deleting: 0 });
      assert.ok(await blobs.stat('images', orphanKey));

      report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0 }, silent, Date.now() + 120_000);
      assert.equal(report.orphansRemoved, 1);
      assert.equal(await blobs.stat('images', orphanKey), null);
      assert.ok(await blobs.stat('images', kept.key), 'a committed photo keeps its blob');
      assert.equal((await catalog.getPhoto('c', kept.id))?.id, kept.id);
    });

    test('an object recovery cannot name as its own leftover is never removed, however old', async (t) => {
      const { blobs, catalog, pending } = await setup(t, backend);
      await pending('none'); // this catalog has been live
      const put = (key: string, identity?: ObjectIdentity) =>
        blobs.put('images', key, { buffer: pngBytes(100) }, 100, 'image/png', undefined, undefined, identity);
      const foreign = 'other-app/logo.png';
      const otherNamespace = objectKey(randomUUID(), 'n.png', new Date(), 'someone-else');
      const legacy = objectKey(randomUUID(), 'l.png', new Date()).replace(/^storaged\//, '');
      const unidentified = objectKey(randomUUID(), 'u.png', new Date());
      const otherCatalogId = randomUUID();
      const otherCatalog = objectKey(otherCatalogId, 'c.png', new Date());
      const beforeLiveId = randomUUID();
      const beforeLive = objectKey(beforeLiveId, 'b.png', new Date());
      const misnamedId = randomUUID();
      const misnamed = objectKey(randomUUID(), 'm.png', new Date());
      await put(foreign);
      await put(otherNamespace, identityOf(catalog, otherNamespace.split('/')[3]!.slice(0, 36), new Date().toISOString()));
      await put(legacy);
      await put(unidentified);
      await put(otherCatalog, identityOf(catalog, otherCatalogId, new Date().toISOString(), 'f'.repeat(32)));
      // This catalog's id, but dated before it was ever live: a photo written after the backup it was restored from, say.
      await put(beforeLive, identityOf(catalog, beforeLiveId, '2020-01-01T00:00:00.000Z'));
      await put(misnamed, identityOf(catalog, misnamedId, new Date().toISOString()));

      const report = await recover(catalog, blobs, { pendingTimeoutMs: 3600_000, orphanGraceMs: 0 }, silent, Date.now() + 120_000);
      assert.equal(report.orphansRemoved, 0);
      assert.equal(report.foreignKept, 2);
      assert.equal(report.unidentifiedKept, 3);
      assert.equal(report.adoptableKept, 2);
      for (const key of [foreign, otherNamespace, legacy, unidentified, otherCatalog, beforeLive, misnamed]) {
        assert.ok(await blobs.stat('images', key), `${key} is kept`);
      }
    });

    test('an empty catalog over a namespace full of photos removes nothing and says what to run', async (t) => {
      const { blobs, catalog } = await setup(t, backend);
      const lostId = randomUUID();
      const lost = objectKey(lostId, 'lost.png', new Date());
      // Written by the catalog that was lost: another id, and before this one existed.
      await blobs.put('images', lost, { buffer: pngBytes(100) }, 100, 'image/png', undefined, undefined,
        identityOf(catalog, lostId, '2025-06-01T00:00:00.000Z', 'a'.repeat(32)));
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0 }, logger, Date.now() + 120_000);
      assert.equal(report.orphansRemoved, 0);
      assert.equal(report.adoptableKept, 1);
      assert.ok(await blobs.stat('images', lost));
      assert.match(lines.join(''), /storaged rebuild/);
    });
  });
}

test('a pending row rolled back takes the multipart upload its store left with it, even after a MinIO restart', { timeout: 90_000 }, async (t) => {
  const { blobs, catalog, pending } = await setup(t, 'minio');
  const minio = lastMinio!;
  const { key } = await pending('none');
  await minio.client.initiateNewMultipartUpload('images', key, {});
  await minio.restart();
  assert.deepEqual(await incompleteKeys(minio, 'images', key), [key]);
  const report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 3600_000 }, silent);
  assert.equal(report.pendingRolledBack, 1);
  assert.ok(report.uploadsAborted >= 1);
  assert.deepEqual(await incompleteKeys(minio, 'images', key), []);
});

test('storaged check calls stale exactly the incomplete uploads a recovery pass aborts', { timeout: 90_000 }, async (t) => {
  const { blobs, catalog, pending, age } = await setup(t, 'minio');
  const minio = lastMinio!;
  // No grace at all: every upload is old enough for the sweep.
  const timing = { pendingTimeoutMs: 3600_000, orphanGraceMs: 0 };
  const running = await pending('none'); // a store still sending: its row is younger than the pending timeout
  const crashed = await pending('none'); // a store that died long ago
  age(crashed.id);
  const done = await pending('right');
  await catalog.commitPending(done.id);
  const strayKey = objectKey(randomUUID(), 'stray.png', new Date()); // no row names it
  for (const key of [running.key, crashed.key, done.key, strayKey]) await minio.client.initiateNewMultipartUpload('images', key, {});

  const check = () => checkIncompleteUploads(catalog, blobs, { ...timing, now: Date.now(), maxListed: 100 });
  const before = await check();
  assert.deepEqual(
    before.stale.map((u) => [u.key, u.photoId]).sort(),
    [[crashed.key, crashed.id], [strayKey, null]].sort(),
  );
  assert.deepEqual([before.staleCount, before.young], [2, 2]);

  const report = await recover(catalog, blobs, timing, silent);
  assert.equal(report.uploadsAborted, 2);
  assert.deepEqual(await incompleteKeys(minio, 'images'), [running.key, done.key].sort());
  const after = await check();
  assert.deepEqual([after.staleCount, after.young], [0, 2]);
});

test("another application's multipart upload survives recovery; an unclaimed one in the namespace is aborted", { timeout: 90_000 }, async (t) => {
  const { blobs, catalog } = await setup(t, 'minio');
  const minio = lastMinio!;
  const ours = objectKey(randomUUID(), 'big.jpg', new Date());
  await minio.client.initiateNewMultipartUpload('images', 'other-app/upload.bin', {});
  await minio.client.initiateNewMultipartUpload('images', ours, {});
  const report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0 }, silent);
  assert.equal(report.uploadsAborted, 1);
  assert.deepEqual(await incompleteKeys(minio, 'images'), ['other-app/upload.bin']);
});
