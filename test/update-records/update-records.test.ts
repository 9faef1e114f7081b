// Update records against a real SQLite catalog and a real blob store of each
// backend: concurrent updates of one photo leave the record of the last one;
// a record that cannot be written refuses and undoes its update, and the
// record and row agree again afterwards; the sweep and the check tell records
// from photos, keep the ones still needed and remove the ones whose photo is gone.

import * as assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
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
import { decodeRecord, encodeRecord, patchOf, readRecord, recordAgrees, recordKeyFor, updateRecordOf, recordOwner } from '../../src/daemon/update-records/update-record';
import { oweRecordsBehind } from '../../src/daemon/check/record-check';
import { adoptMissingObjects } from '../../src/daemon/recovery/adopt-objects';
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
    const read = await recordNow(photo);
    assert.ok(read, what);
    const { refused, held, ...record } = read;
    assert.deepEqual(refused, [], what);
    assert.deepEqual(record, updateRecordOf(row, catalog.catalogId), what);
    assert.ok(recordAgrees(read, row), what);
  };
  return { blobs, minio, catalog, records, store, update, recordKey, recordNow, assertAgree };
}

test('a record names itself exactly, and each of its fields is held to the rule a patch is', () => {
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
  const decoded = decodeRecord(encodeRecord(record));
  assert.ok(decoded);
  const { refused, held, ...values } = decoded;
  assert.deepEqual(values, record);
  assert.deepEqual(refused, []);
  assert.ok(recordAgrees(decoded, photo));
  assert.ok(!recordAgrees(decoded, { ...photo, updated_at: '2026-12-04T10:00:02.000Z' }), 'a row updated since');
  assert.ok(!recordAgrees(decoded, { ...photo, metadata: { a: 'c' } }), 'a row with other metadata');
  assert.ok(recordAgrees(decoded, { ...photo, processing_metadata: { deep: [1, { x: 'y' }] } }), 'equal JSON is equal whatever object holds it');
  const tampered = (change: (r: Record<string, any>) => void) => {
    const r = JSON.parse(encodeRecord(record).toString());
    change(r);
    return decodeRecord(Buffer.from(JSON.stringify(r)));
  };
  // Its identity and shape are held exactly: such a record is not applied at all.
  assert.equal(tampered((r) => (r.schema = 2)), null, 'an unknown schema');
  assert.equal(tampered((r) => delete r.fields.width), null, 'a field missing');
  assert.equal(tampered((r) => (r.fields.extra = 1)), null, 'a field no patch has');
  assert.equal(tampered((r) => (r.fields = [])), null, 'fields not an object');
  assert.equal(tampered((r) => (r.s3Key = objectKey(randomUUID(), 'a.png', new Date(), NS))), null, "a photo key of another photo's");
  assert.equal(tampered((r) => (r.clientId = '')), null, 'no client');
  assert.equal(tampered((r) => (r.updatedAt = 'yesterday')), null, 'not a time');
  assert.equal(tampered((r) => (r.catalogId = 'x')), null, 'not a catalog id');
  assert.equal(decodeRecord(Buffer.from('not json')), null);
  assert.equal(decodeRecord(Buffer.from('[]')), null);

  // Its fields one by one: one that today's patch rules refuse is left out of values (never applied), the rest are kept.
  const refusedOf = (change: (r: Record<string, any>) => void) => {
    const got = tampered(change);
    assert.ok(got, 'still a record');
    return { refused: got.refused, values: got.values, held: got.held };
  };
  let got = refusedOf((r) => (r.fields.processing_status = 'done'));
  assert.deepEqual(got.refused, ['processing_status'], 'a status outside the list');
  assert.equal(got.values.processing_status, undefined);
  assert.equal(got.values.width, 3, 'the other fields are kept');
  assert.equal(got.held.processing_status, 'done', 'held as it is, for comparing only');
  got = refusedOf((r) => {
    r.fields.metadata = { 'bad key!': 'x' };
    r.fields.original_filename = 'old\u0007name.png';
    r.fields.width = -1;
  });
  assert.deepEqual(got.refused, ['original_filename', 'width', 'metadata']);
  assert.deepEqual(Object.keys(got.values).sort(), ['duration', 'height', 'processing_completed_at', 'processing_error', 'processing_metadata',
    'processing_started_at', 'processing_status', 'session_id', 'user_id']);
  got = refusedOf((r) => (r.fields.processing_metadata = { big: 'x'.repeat(70 * 1024) }));
  assert.deepEqual(got.refused, ['processing_metadata'], 'a field past its own limit');
  // A row holding a filename stored before today's rules: its record agrees with it, though the filename is refused.
  const old = { ...photo, original_filename: 'old\u0007name.png' };
  const ofOld = decodeRecord(encodeRecord(updateRecordOf(old, 'f'.repeat(32))));
  assert.deepEqual(ofOld?.refused, ['original_filename']);
  assert.ok(recordAgrees(ofOld!, old));
  assert.ok(!recordAgrees(ofOld!, photo));
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

    test('the check reads each live record: in sync none reported; one older than its row or not a record is behind, one newer ahead; --repair rewrites those behind', async (t) => {
      const { store, update, catalog, blobs, recordKey, recordNow, assertAgree } = await setup(t, backend);
      const photos = [await store('a.png'), await store('b.png'), await store('c.png'), await store('d.png'), await store('e.png')];
      for (const photo of photos) await update(photo, { processing_status: 'in_progress', metadata: { n: '1' } });
      const options = { verifyChecksums: false, pendingTimeoutMs: 60_000, orphanGraceMs: 3600_000 };
      let check = await checkConsistency(catalog, blobs, options);
      assert.equal(check.updateRecords.live, 5);
      assert.deepEqual(check.updateRecords.behind, { count: 0, ids: [] });
      assert.deepEqual(check.updateRecords.ahead, { count: 0, ids: [] });
      assert.equal(check.ok, true, JSON.stringify(check));

      const [older, invalid, newer, owed, fine] = photos as [Photo, Photo, Photo, Photo, Photo];
      // A record overwritten with an older one of its photo's: a lost catalog would come back without the last update.
      const olderBody = Buffer.concat(await (await blobs.read('images', recordKey(older))).toArray());
      await update(older, { processing_status: 'completed', metadata: { n: '2' } });
      await blobs.put('images', recordKey(older), { buffer: olderBody }, olderBody.length, 'application/json');
      // Not a record any more: a rebuild could apply nothing of it.
      await blobs.put('images', recordKey(invalid), { buffer: Buffer.from('{}') }, 2, 'application/json');
      // A row set back behind its record, as a database file put back by hand would be.
      const before = (await catalog.getPhoto('c', newer.id))!;
      await update(newer, { width: 10 });
      await catalog.applyUpdateRecord('c', newer.id, patchOf(before), before.updated_at, false);
      // An update whose record is owed (the daemon stopped between row and record): reported as owed only.
      await catalog.updateMetadata('c', owed.id, { width: 5 });

      check = await checkConsistency(catalog, blobs, options);
      assert.equal(check.updateRecords.live, 5);
      assert.equal(check.updateRecords.owed, 1);
      assert.deepEqual({ ...check.updateRecords.behind, ids: [...check.updateRecords.behind.ids].sort() }, { count: 2, ids: [older.id, invalid.id].sort() });
      assert.deepEqual(check.updateRecords.ahead, { count: 1, ids: [newer.id] });
      assert.deepEqual(check.unidentified, [], 'a live record that is not valid is behind, not unidentified');
      assert.equal(check.ok, false);

      // The repair: rows with a record behind them are marked owed and written from the row, as recovery writes owed ones.
      const repair = await oweRecordsBehind(catalog, blobs, NS);
      assert.equal(repair.behind.count, 2);
      assert.equal(await new UpdateRecords(catalog, blobs, NS, silent).settleOwed(), 3, 'the two behind, and the one owed');
      for (const photo of [older, invalid, owed, fine]) await assertAgree(photo, `${photo.original_filename} after the repair`);
      assert.equal((await recordNow(newer))?.values.width, 10, 'a record ahead of its row is left alone: it holds an acknowledged update');
      check = await checkConsistency(catalog, blobs, options);
      assert.deepEqual(check.updateRecords.behind, { count: 0, ids: [] });
      assert.equal(check.updateRecords.owed, 0);
      assert.deepEqual(check.updateRecords.ahead, { count: 1, ids: [newer.id] });
    });

    test("a planted record: the fields today's rules refuse are not applied, the rest are, and each is reported by photo and field, never by value", async (t) => {
      const { store, update, blobs, recordKey } = await setup(t, backend);
      const photo = await store('planted.png');
      const updated = await update(photo, { metadata: { album: 'trip' }, width: 640, height: 480, processing_status: 'in_progress' });
      // Whoever else writes to the bucket changes the record: values no patch could set.
      const planted = JSON.parse(Buffer.concat(await (await blobs.read('images', recordKey(photo))).toArray()).toString());
      planted.fields.metadata = { 'bad key!': 'PLANTED-VALUE' };
      planted.fields.height = 'PLANTED-HEIGHT';
      const body = Buffer.from(JSON.stringify(planted));
      await blobs.put('images', recordKey(photo), { buffer: body }, body.length, 'application/json');

      // The catalog is lost: a new one adopts the object and applies the record.
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
      const rebuilt = Catalog.open({ path: path.join(tempDir(t), 'rebuilt.db'), logger: silent });
      t.after(() => rebuilt.close());
      const report = await adoptMissingObjects(rebuilt, blobs, { namespace: NS, logger });
      assert.equal(report.adopted, 1);
      assert.equal(report.recordsApplied, 1);
      assert.equal(report.unidentified, 0, 'a record with refused fields is still a record');
      assert.equal(report.recordFieldsRefused, 2);
      assert.deepEqual(report.refusedRecordFields, [{ photoId: photo.id, field: 'height' }, { photoId: photo.id, field: 'metadata' }]);
      const row = (await rebuilt.getPhoto('c', photo.id))!;
      assert.equal(row.width, 640);
      assert.equal(row.processing_status, 'in_progress');
      assert.equal(row.updated_at, updated.updated_at);
      assert.equal(row.height, null, 'the adopted row keeps its own value');
      assert.deepEqual(row.metadata, {});
      assert.deepEqual(await rebuilt.owingRecords(10), [{ id: photo.id, client_id: 'c' }], 'the record is written again from the row');
      assert.equal(lines.length, 1, lines.join(''));
      const warned = JSON.parse(lines[0]!);
      assert.equal(warned.photoId, photo.id);
      assert.deepEqual(warned.fields, ['height', 'metadata']);
      assert.doesNotMatch(lines[0]!, /PLANTED/, 'never the value');
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
