// Update records against a real SQLite catalog and a real blob store of each
// backend: concurrent updates of one photo leave the record of the last one;
// a record that cannot be written refuses and undoes its update, and the
// record and row agree again afterwards; the sweep and the check tell records
// from photos, keep the ones still needed and remove the ones whose photo is gone.

import * as assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import { FsBlobStore } from '../../src/daemon/blobs/fs-blob-store';
import { checkConsistency } from '../../src/daemon/check/consistency-check';
import { Catalog } from '../../src/daemon/db/catalog';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../../src/daemon/db/migrations';
import { objectKey } from '../../src/daemon/db/object-key';
import { recover } from '../../src/daemon/recovery/recovery';
import { decodeRecord, encodeRecord, readRecord, recordKeyFor, updateRecordOf, recordOwner } from '../../src/daemon/update-records/update-record';
import { UpdateRecords } from '../../src/daemon/update-records/update-records';
import { BUCKETS, type Photo } from '../../src/protocol/types';
import { blobStoreFor } from '../blobs/blob-store-for';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import type { MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const silent = pino({ level: 'silent' });
const NS = 'storaged';

async function setup(t: TestContext, backend: 'fs' | 'minio') {
  const { store: blobs, minio } = await blobStoreFor(t, backend);
  await blobs.ensureBuckets(BUCKETS);
  const catalog = Catalog.open({ path: path.join(tempDir(t), 'u.db'), logger: silent });
  t.after(() => catalog.close());
  const records = new UpdateRecords(catalog, blobs, NS, silent);
  const store = async (name = 'p.png'): Promise<Photo> => {
    const id = randomUUID();
    const body = pngBytes(2000);
    const key = objectKey(id, name, new Date(), NS);
    const uploadedAt = new Date().toISOString();
    await catalog.insertPending({
      id, client_id: 'c', user_id: 'u', session_id: null, original_filename: name, mime_type: 'image/png', uploaded_at: uploadedAt,
      bucket: 'images', s3_key: key, size: body.length, checksum: createHash('sha256').update(body).digest('hex'), metadata: {},
    });
    await blobs.put('images', key, { buffer: body }, body.length, 'image/png', undefined, undefined, {
      id, catalogId: catalog.catalogId, clientId: 'c', userId: 'u', sessionId: null, originalFilename: name, mimeType: 'image/png',
      size: body.length, sha256: null, uploadedAt,
    });
    return catalog.commitPending(id);
  };
  const update = (photo: Photo, patch: unknown) => records.update('c', photo.id, () => catalog.updateMetadata('c', photo.id, patch));
  const recordKey = (photo: Photo) => recordKeyFor(photo.s3_key, NS)!;
  const recordNow = (photo: Photo) => readRecord(blobs, 'images', recordKey(photo));
  /** The record says what the row says: every patchable field and updated_at. */
  const assertAgree = async (photo: Photo, what: string) => {
    const row = await catalog.getPhoto('c', photo.id);
    assert.ok(row, what);
    assert.deepEqual(await recordNow(photo), updateRecordOf(row, catalog.catalogId), what);
  };
  return { blobs, minio, catalog, records, store, update, recordKey, recordNow, assertAgree };
}

test('a record names itself and is held to the rules a patch is', () => {
  const photo: Photo = {
    id: randomUUID(), s3_key: '', bucket: 'images', size: 1, checksum: 'a'.repeat(64), mime_type: 'image/png', original_filename: 'a.png',
    width: 3, height: 4, duration: null, client_id: 'c', session_id: null, user_id: 'u', processing_status: 'completed',
    processing_metadata: { deep: [1, { x: 'y' }] }, processing_error: null, processing_started_at: '2026-12-04T10:00:00.000Z',
    processing_completed_at: '2026-12-04T10:00:01.000Z', metadata: { a: 'b' }, uploaded_at: '2026-12-04T09:00:00.000Z',
    created_at: '2026-12-04T09:00:00.000Z', updated_at: '2026-12-04T10:00:01.000Z',
  };
  photo.s3_key = objectKey(photo.id, 'a.png', new Date('2026-12-04T00:00:00Z'), NS);
  const key = recordKeyFor(photo.s3_key, NS)!;
  assert.equal(key, `storaged/records/2026/12/${photo.id}.json`);
  assert.equal(recordOwner(key, NS), photo.id);
  assert.equal(recordOwner(key, 'other'), null, "another namespace's record is not ours");
  assert.equal(recordOwner(photo.s3_key, NS), null, 'a photo key is not a record');
  const record = updateRecordOf(photo, 'f'.repeat(32));
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  const tampered = (change: (r: Record<string, any>) => void) => {
    const r = JSON.parse(encodeRecord(record).toString());
    change(r);
    return decodeRecord(Buffer.from(JSON.stringify(r)));
  };
  assert.equal(tampered((r) => (r.schema = 2)), null, 'an unknown schema');
  assert.equal(tampered((r) => (r.fields.processing_status = 'done')), null, 'a status outside the list');
  assert.equal(tampered((r) => (r.fields.metadata = { 'bad key!': 'x' })), null, 'metadata a patch could not set');
  assert.equal(tampered((r) => delete r.fields.width), null, 'a field missing');
  assert.equal(tampered((r) => (r.fields.extra = 1)), null, 'a field no patch has');
  assert.equal(tampered((r) => (r.s3Key = objectKey(randomUUID(), 'a.png', new Date(), NS))), null, "a photo key of another photo's");
  assert.equal(decodeRecord(Buffer.from('not json')), null);
});

for (const backend of ['fs', 'minio'] as const) {
  describe(`update records on the ${backend} backend`, { timeout: 90_000 }, () => {
    test('concurrent updates of one photo end with the record of the last acknowledged one', async (t) => {
      const { store, update, assertAgree, recordNow } = await setup(t, backend);
      const photo = await store();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => update(photo, { metadata: { n: String(i) }, width: i })));
      // Run in the order they were called: the last answer is the photo's state, and its record.
      assert.deepEqual(answers.map((a) => a.width), Array.from({ length: 40 }, (_, i) => i));
      await assertAgree(photo, 'after 40 concurrent updates');
      assert.deepEqual((await recordNow(photo))!.values.metadata, JSON.stringify({ n: '39' }));
    });

    test('a record owed when its daemon died is written by the next daemon\'s first recovery pass', async (t) => {
      const { store, catalog, blobs, recordNow, assertAgree } = await setup(t, backend);
      const photo = await store();
      // The row updated and the daemon gone before the record: what a kill -9 between the two steps leaves.
      await catalog.updateMetadata('c', photo.id, { processing_status: 'in_progress', metadata: { seen: 'yes' } });
      assert.equal(await recordNow(photo), null);
      const checked = await checkConsistency(catalog, blobs, { verifyChecksums: false, pendingTimeoutMs: 60_000, orphanGraceMs: 3600_000 });
      assert.equal(checked.updateRecords.owed, 1, 'the check says a record is owed');
      const next = new UpdateRecords(catalog, blobs, NS, silent);
      assert.equal(await next.settleOwed(), 1);
      await assertAgree(photo, 'written from the row');
      assert.deepEqual(await catalog.owingRecords(10), []);
      assert.equal(await next.settleOwed(), 0, 'and only once');
    });

    test('a delete racing updates leaves no record behind', async (t) => {
      const { store, update, catalog, records, blobs, recordNow } = await setup(t, backend);
      const photo = await store();
      const updates = Array.from({ length: 10 }, (_, i) => update(photo, { width: i }).catch(() => 'refused'));
      const deleted = records.delete(photo.id, () => catalog.markDeleting('c', photo.id));
      await Promise.all([...updates, deleted]);
      assert.equal(await recordNow(photo), null);
      assert.ok(await blobs.stat('images', photo.s3_key), 'the photo object is the delete\'s own next step');
    });

    test('the sweep and the check keep live records, remove records whose photo is gone, and count none as foreign', async (t) => {
      const { store, update, catalog, blobs, recordKey } = await setup(t, backend);
      const live = await store('live.png');
      await update(live, { processing_status: 'in_progress' });
      // A delete whose record removal was cut short: row and object gone, record left.
      const gone = await store('gone.png');
      await update(gone, { metadata: { a: 'b' } });
      await catalog.markDeleting('c', gone.id);
      await blobs.remove('images', gone.s3_key);
      await catalog.deleteRow(gone.id);
      // A photo no row names (a lost catalog's): its record is needed by rebuild.
      const lostId = randomUUID();
      const lostKey = objectKey(lostId, 'lost.png', new Date(), NS);
      await blobs.put('images', lostKey, { buffer: pngBytes(100) }, 100, 'image/png', undefined, undefined, {
        id: lostId, catalogId: 'a'.repeat(32), clientId: 'c', userId: null, sessionId: null, originalFilename: 'lost.png', mimeType: 'image/png',
        size: 100, sha256: null, uploadedAt: '2025-01-01T00:00:00.000Z',
      });
      const lostPhoto = { ...live, id: lostId, s3_key: lostKey };
      const lostRecord = recordKeyFor(lostKey, NS)!;
      const body = encodeRecord(updateRecordOf(lostPhoto, 'a'.repeat(32)));
      await blobs.put('images', lostRecord, { buffer: body }, body.length, 'application/json');
      // Not a record at all, at a record's key: kept for an operator.
      const bogusKey = `storaged/records/2026/12/${randomUUID()}.json`;
      await blobs.put('images', bogusKey, { buffer: Buffer.from('{}') }, 2, 'application/json');

      const later = Date.now() + 120_000;
      const check = await checkConsistency(catalog, blobs, { verifyChecksums: false, pendingTimeoutMs: 60_000, orphanGraceMs: 0, now: later });
      assert.equal(check.updateRecords.live, 1);
      assert.equal(check.updateRecords.owed, 0);
      assert.equal(check.updateRecords.ofUnadopted, 1);
      assert.deepEqual(check.updateRecords.stale.map((o) => o.key), [recordKey(gone)]);
      assert.deepEqual(check.unidentified.map((o) => o.key), [bogusKey]);
      assert.equal(check.foreignObjects, 0, 'records are storaged\'s own objects');
      assert.equal(check.ok, false);

      // Within the grace period nothing goes.
      let report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 3600_000 }, silent, later);
      assert.equal(report.staleRecordsRemoved, 0);
      report = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0 }, silent, later);
      assert.equal(report.staleRecordsRemoved, 1);
      assert.equal(report.foreignKept, 0);
      assert.equal(report.unidentifiedKept, 1, 'the bogus record only');
      assert.equal(await blobs.stat('images', recordKey(gone)), null);
      for (const key of [recordKey(live), lostRecord, bogusKey]) assert.ok(await blobs.stat('images', key), `${key} kept`);

      // Over an empty catalog not even a stale record goes.
      const again = encodeRecord(updateRecordOf(gone, catalog.catalogId));
      await blobs.put('images', recordKey(gone), { buffer: again }, again.length, 'application/json');
      const empty = Catalog.open({ path: path.join(tempDir(t), 'empty.db'), logger: silent });
      t.after(() => empty.close());
      report = await recover(empty, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0 }, silent, later);
      assert.equal(report.staleRecordsRemoved, 0);
      assert.ok(await blobs.stat('images', recordKey(gone)));
    });
  });
}

/** A record write the local backend cannot do: a file where the records' directory must go. */
function blockRecords(store: BlobStore): () => void {
  const dir = path.join((store as FsBlobStore).root, 'images', NS, 'records');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.writeFileSync(dir, 'in the way');
  return () => fs.rmSync(dir);
}

for (const backend of ['fs', 'minio'] as const) {
  test(`a record that cannot be written refuses and undoes its update, and record and row agree again (${backend})`, { timeout: 90_000 }, async (t) => {
    const { store, update, catalog, records, assertAgree, minio, blobs } = await setup(t, backend);
    const photo = await store();
    await update(photo, { processing_status: 'in_progress', metadata: { step: '1' } });
    const before = await catalog.getPhoto('c', photo.id);

    let unblock: () => Promise<void> | void;
    if (backend === 'fs') unblock = blockRecords(blobs);
    else {
      await (minio as MinioHandle).stop();
      unblock = () => (minio as MinioHandle).restart();
    }
    await rejectsWithCode(update(photo, { processing_status: 'completed', metadata: { step: '2' } }), 'UNAVAILABLE', /was not updated: its update record could not be written.*nothing changed, send the same update again/);
    assert.deepEqual(await catalog.getPhoto('c', photo.id), before, 'the refused update was undone, updated_at and all');
    const owed = async () => (await catalog.owingRecords(10)).map((row) => row.id);
    assert.deepEqual(await owed(), [photo.id], 'the failed put may have landed: the record is owed');
    assert.equal(await records.settleOwed(), 0, 'nothing written while the store refuses');
    assert.deepEqual(await owed(), [photo.id]);

    await unblock();
    assert.equal(await records.settleOwed(), 1);
    assert.deepEqual(await owed(), []);
    await assertAgree(photo, 'the owed record rewritten from the row');
    // The same patch again: its transition is still allowed, since nothing changed.
    const after = await update(photo, { processing_status: 'completed', metadata: { step: '2' } });
    assert.equal(after.processing_status, 'completed');
    await assertAgree(photo, 'after the retry');
  });
}

test('upgrading marks every photo updated before records existed, so its update gets a record too', async (t) => {
  const dir = tempDir(t);
  const older = path.join(dir, 'migrations');
  fs.mkdirSync(older);
  for (const file of fs.readdirSync(DEFAULT_MIGRATIONS_DIR)) {
    if (/^00[1-6]_.*\.sql$/.test(file)) fs.copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(older, file));
  }
  const file = path.join(dir, 'old.db');
  // A catalog of the storaged before records (schema 6), with a photo it updated and one it did not.
  const db = new Database(file);
  applyMigrations(db, older);
  const insert = db.prepare(`INSERT INTO photos (id, client_id, original_filename, mime_type, bucket, s3_key, size, checksum, state,
      state_changed_at, uploaded_at, created_at, updated_at) VALUES (?, 'c', 'p.png', 'image/png', 'images', ?, 1, ?, 'committed', ?, ?, ?, ?)`);
  const ids = [randomUUID(), randomUUID()];
  const at = '2026-01-01T00:00:00.000Z';
  for (const id of ids) insert.run(id, objectKey(id, 'p.png', new Date(), NS), 'a'.repeat(64), at, at, at, at);
  db.prepare(`UPDATE photos SET metadata = '{"a":"b"}', updated_at = '2026-02-01T00:00:00.000Z' WHERE id = ?`).run(ids[0]);
  db.close();

  const upgraded = Catalog.open({ path: file, logger: silent });
  t.after(() => upgraded.close());
  assert.deepEqual(await upgraded.owingRecords(10), [{ id: ids[0], client_id: 'c' }]);
});
