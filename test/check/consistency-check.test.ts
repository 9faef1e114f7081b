// How often `storaged check` asks the blob store about each object: once for
// what it knows of it (size and identity together), plus the read of its bytes
// with --verify-checksums. On MinIO every look is a HEAD over the network, and
// a check of a few million objects paid for each one twice. The store is the
// real one on both backends; the test only counts what reaches it.

import * as assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import { checkConsistency } from '../../src/daemon/check/consistency-check';
import { Catalog } from '../../src/daemon/db/catalog';
import { objectKey } from '../../src/daemon/db/object-key';
import { BUCKETS } from '../../src/protocol/types';
import { recordKeyFor } from '../../src/daemon/update-records/update-record';
import { UpdateRecords } from '../../src/daemon/update-records/update-records';
import { blobStoreFor, type BlobBackend } from '../blobs/blob-store-for';
import { pngBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

const silent = pino({ level: 'silent' });

/** Reads of the bytes; every other per-object call is a look at what the store knows of the object. */
const BYTE_READS = new Set(['read']);

/**
 * The store as it is, with every call that names one object recorded under
 * `bucket/key`. Methods run on the store itself, so its own inner calls (the
 * local backend's identity() stats the file first) are not counted: only what
 * the check asks for.
 */
function countingCalls(store: BlobStore): { blobs: BlobStore; calls: Map<string, string[]> } {
  const calls = new Map<string, string[]>();
  const blobs = new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string' && typeof args[1] === 'string') {
          const where = `${args[0]}/${args[1]}`;
          calls.set(where, [...(calls.get(where) ?? []), String(prop)]);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { blobs, calls };
}

async function storeFor(t: TestContext, backend: BlobBackend): Promise<BlobStore> {
  return (await blobStoreFor(t, backend)).store;
}

/** Committed photos of every kind the per-object pass tells apart, and one object no row names. */
async function fixture(t: TestContext, blobs: BlobStore) {
  await blobs.ensureBuckets(BUCKETS);
  const catalog = Catalog.open({ path: path.join(tempDir(t), 'check.db'), logger: silent });
  t.after(() => catalog.close());
  const committed = async (object: 'with-identity' | 'without-identity' | 'missing' | 'wrong-size' | 'rotten') => {
    const id = randomUUID();
    const body = pngBytes(4000);
    const key = objectKey(id, 'p.png', new Date());
    await catalog.insertPending({
      id, client_id: 'c', user_id: null, session_id: null, original_filename: 'p.png', mime_type: 'image/png',
      bucket: 'images', s3_key: key, size: body.length, checksum: createHash('sha256').update(body).digest('hex'), metadata: {},
    });
    const photo = await catalog.commitPending(id);
    const identity = {
      id, catalogId: catalog.catalogId, clientId: 'c', userId: null, sessionId: null, originalFilename: 'p.png', mimeType: 'image/png',
      size: body.length, sha256: null, uploadedAt: photo.uploaded_at,
    };
    const stored = object === 'wrong-size' ? pngBytes(4100) : object === 'rotten' ? pngBytes(4000) : body;
    if (object !== 'missing') await blobs.put('images', key, { buffer: stored }, stored.length, 'image/png', undefined, undefined, object === 'without-identity' ? undefined : identity);
    return { id, where: `images/${key}` };
  };
  const photos = {
    fine: [await committed('with-identity'), await committed('with-identity'), await committed('with-identity')],
    withoutIdentity: await committed('without-identity'),
    missing: await committed('missing'),
    wrongSize: await committed('wrong-size'),
    rotten: await committed('rotten'),
  };
  const strayKey = objectKey('00000000-0000-4000-8000-000000000000', 's.png', new Date());
  await blobs.put('images', strayKey, { buffer: pngBytes(10) }, 10, 'image/png');
  return { catalog, photos, stray: `images/${strayKey}` };
}

for (const backend of ['fs', 'minio'] as const) {
  describe(`check on the ${backend} backend`, () => {
    test('looks at each committed object once, and reads it once more only to verify its bytes', { timeout: 60_000 }, async (t) => {
      const { blobs, calls } = countingCalls(await storeFor(t, backend));
      const { catalog, photos, stray } = await fixture(t, blobs);
      const rows = [...photos.fine, photos.withoutIdentity, photos.missing, photos.wrongSize, photos.rotten];
      // An updated photo, with its update record: on MinIO a record whose listed ETag is the MD5 of the record
      // the row makes agrees unread; the local backend lists no ETag, so it reads the record, once.
      const updated = photos.fine[0]!;
      const records = new UpdateRecords(catalog, blobs, 'storaged', silent);
      const photo = await records.update('c', updated.id, () => catalog.updateMetadata('c', updated.id, { metadata: { a: 'b' }, processing_status: 'in_progress' }));
      const recordAt = `images/${recordKeyFor(photo.s3_key, 'storaged')}`;
      const options = { pendingTimeoutMs: 60_000, orphanGraceMs: 0 };

      for (const verifyChecksums of [false, true]) {
        calls.clear();
        const report = await checkConsistency(catalog, blobs, { ...options, verifyChecksums });

        // The same report as ever: problems by kind, the photo without identity counted, the stray object listed.
        assert.equal(report.committedChecked, rows.length);
        assert.deepEqual(
          report.problems.map((p) => [p.id, p.problem]),
          [
            [photos.missing.id, 'missing'],
            [photos.wrongSize.id, 'size-mismatch'],
            ...(verifyChecksums ? [[photos.rotten.id, 'checksum-mismatch']] : []),
          ],
        );
        assert.deepEqual(report.problems.find((p) => p.problem === 'size-mismatch'), {
          id: photos.wrongSize.id, bucket: 'images', key: photos.wrongSize.where.slice('images/'.length), problem: 'size-mismatch', expected: 4000, actual: 4100,
        });
        assert.equal(report.withoutIdentity, 1);
        assert.equal(report.bytesVerified, verifyChecksums ? 4 * 4000 + 4000 : 0);
        assert.deepEqual(report.unidentified.map((o) => `images/${o.key}`), [stray]);

        for (const row of rows) {
          const made = calls.get(row.where) ?? [];
          const looks = made.filter((m) => !BYTE_READS.has(m));
          assert.equal(looks.length, 1, `${row.where}: one look at the object, not ${JSON.stringify(made)}`);
          const reads = made.filter((m) => BYTE_READS.has(m)).length;
          const readable = verifyChecksums && row !== photos.missing && row !== photos.wrongSize;
          assert.equal(reads, readable ? 1 : 0, `${row.where}: ${JSON.stringify(made)}`);
        }
        // The stray object is listed, then looked at once for its identity.
        assert.equal(calls.get(stray)?.length, 1, JSON.stringify(calls.get(stray)));
        assert.equal(report.updateRecords.live, 1);
        assert.deepEqual(report.updateRecords.behind, { count: 0, ids: [] });
        assert.deepEqual(calls.get(recordAt) ?? [], backend === 'minio' ? [] : ['read'], `${recordAt}: ${JSON.stringify(calls.get(recordAt))}`);
      }
    });
  });
}
