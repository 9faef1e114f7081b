// The row states of DESIGN.md "Consistency": pending → committed → deleting → gone.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClosedError, NotFoundError } from '../../src/protocol/errors';
import { Catalog } from '../../src/daemon/db/catalog';
import { addCommitted, newRow, openTestCatalog, silentLogger } from './catalog-fixture';

test('a pending row is invisible to get and search until committed', async (t) => {
  const { catalog } = openTestCatalog(t);
  const row = newRow({ original_filename: 'holiday.jpg', metadata: { album: 'summer' } });
  await catalog.insertPending(row);

  assert.equal(await catalog.getPhoto('client-a', row.id), null);
  assert.equal((await catalog.search('client-a', { query: 'holiday' })).total, 0);
  assert.deepEqual(await catalog.countByState(), { pending: 1, committed: 0, deleting: 0 });

  const photo = await catalog.commitPending(row.id);
  assert.equal(photo.id, row.id);
  assert.equal(photo.processing_status, 'queued');
  assert.deepEqual(photo.metadata, { album: 'summer' });
  assert.equal(photo.processing_metadata, null);
  assert.deepEqual(await catalog.getPhoto('client-a', row.id), photo);
  assert.equal((await catalog.search('client-a', { query: 'holiday' })).total, 1);
  assert.deepEqual(await catalog.countByState(), { pending: 0, committed: 1, deleting: 0 });
});

test('committing a row that is not pending is NotFound', async (t) => {
  const { catalog } = openTestCatalog(t);
  await assert.rejects(catalog.commitPending('missing'), NotFoundError);
  const photo = await addCommitted(catalog);
  await assert.rejects(catalog.commitPending(photo.id), NotFoundError);
});

test('discardPending removes a pending row, ignores absent ones and never touches committed rows', async (t) => {
  const { catalog } = openTestCatalog(t);
  const row = newRow();
  await catalog.insertPending(row);
  await catalog.discardPending(row.id);
  await catalog.discardPending(row.id);
  assert.equal(await catalog.isKnownBlob(row.bucket, row.s3_key), false);

  const committed = await addCommitted(catalog);
  await catalog.discardPending(committed.id);
  assert.notEqual(await catalog.getPhoto('client-a', committed.id), null);
});

test('delete: markDeleting hides the photo and returns its blob, deleteRow removes the row', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog);

  assert.deepEqual(await catalog.markDeleting('client-a', photo.id), { bucket: photo.bucket, s3_key: photo.s3_key });
  assert.equal(await catalog.getPhoto('client-a', photo.id), null);
  assert.equal((await catalog.search('client-a', {})).total, 0);
  assert.equal(await catalog.isKnownBlob(photo.bucket, photo.s3_key), true, 'a deleting row still owns its blob');
  // A delete sent again while its object is still there finishes it: the row answers with its blob, unchanged.
  assert.deepEqual(await catalog.markDeleting('client-a', photo.id), { bucket: photo.bucket, s3_key: photo.s3_key });
  await assert.rejects(catalog.markDeleting('client-b', photo.id), { message: `photo ${photo.id} not found` });
  assert.deepEqual(await catalog.countByState(), { pending: 0, committed: 0, deleting: 1 });

  await catalog.deleteRow(photo.id);
  assert.equal(await catalog.isKnownBlob(photo.bucket, photo.s3_key), false);
  assert.deepEqual(await catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  await assert.rejects(catalog.markDeleting('client-a', photo.id), { message: `photo ${photo.id} not found` });
});

test('deleteRow leaves rows that were not marked deleting', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog);
  await catalog.deleteRow(photo.id);
  assert.notEqual(await catalog.getPhoto('client-a', photo.id), null);
});

test('staleRows lists pending and deleting rows older than the cutoff, oldest first', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const old = newRow();
  const fresh = newRow();
  await catalog.insertPending(old);
  await catalog.insertPending(fresh);
  raw().prepare('UPDATE photos SET state_changed_at = ? WHERE id = ?').run('2020-01-01T00:00:00.000Z', old.id);
  const doomed = await addCommitted(catalog);
  await catalog.markDeleting('client-a', doomed.id);

  const cutoff = '2021-01-01T00:00:00.000Z';
  assert.deepEqual(await catalog.staleRows('pending', cutoff, 10), [
    { id: old.id, bucket: old.bucket, s3_key: old.s3_key, size: old.size, checksum: old.checksum, state: 'pending' },
  ]);
  const everything = new Date(Date.now() + 60_000).toISOString();
  assert.deepEqual(
    (await catalog.staleRows('pending', everything, 10)).map((r) => r.id),
    [old.id, fresh.id],
  );
  assert.deepEqual((await catalog.staleRows('pending', everything, 1)).map((r) => r.id), [old.id]);
  assert.deepEqual((await catalog.staleRows('deleting', everything, 10)).map((r) => r.id), [doomed.id]);
  // countStaleRows counts exactly what staleRows would list, without the limit.
  assert.equal(await catalog.countStaleRows('pending', cutoff), 1);
  assert.equal(await catalog.countStaleRows('pending', everything), 2);
  assert.equal(await catalog.countStaleRows('deleting', everything), 1);
  assert.equal(await catalog.countStaleRows('deleting', cutoff), 0);
});

test('a blob is known only under the bucket and key its row names', async (t) => {
  const { catalog } = openTestCatalog(t);
  const row = newRow();
  await catalog.insertPending(row);
  assert.equal(await catalog.isKnownBlob(row.bucket, row.s3_key), true);
  assert.equal(await catalog.isKnownBlob('files', row.s3_key), false);
  assert.equal(await catalog.isKnownBlob(row.bucket, row.s3_key.replace('.jpg', '.png')), false);
  assert.equal(await catalog.isKnownBlob(row.bucket, 'not/made/by-storaged.jpg'), false);
  await assert.rejects(catalog.insertPending(newRow({ id: row.id })), /UNIQUE/);
});

test('committed photos are still there after close and reopen', async (t) => {
  const { catalog, file } = openTestCatalog(t);
  const photo = await addCommitted(catalog, { metadata: { k: 'v' } });
  await catalog.close();

  const reopened = Catalog.open({ path: file, logger: silentLogger });
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.getPhoto('client-a', photo.id), photo);
});

test('after close, writes and reads fail with ClosedError', async (t) => {
  const { catalog } = openTestCatalog(t);
  await catalog.close();
  await assert.rejects(catalog.insertPending(newRow()), ClosedError);
  await assert.rejects(async () => await catalog.getPhoto('client-a', 'x'), ClosedError);
  await assert.rejects(async () => await catalog.search('client-a', {}), ClosedError);
  await catalog.close();
});


// A commit whose write makes SQLite roll back the whole writer transaction (a
// trigger's RAISE(ROLLBACK) here; some I/O errors do the same) undoes the
// other commits of its batch too. Their stores are not at fault: they must
// not be failed with its error (INTERNAL to the caller), and none may be
// acknowledged unless its row is committed in the file.
test('a commit that rolls back the whole writer transaction fails alone: the other commits of its batch are committed and acknowledged', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const rows = Array.from({ length: 6 }, () => newRow());
  for (const row of rows) await catalog.insertPending(row);
  const poisoned = rows[3]!;
  raw().exec(`CREATE TRIGGER poison BEFORE UPDATE OF state ON photos WHEN NEW.id = '${poisoned.id}' AND NEW.state = 'committed'
    BEGIN SELECT RAISE(ROLLBACK, 'poisoned commit'); END`);

  const batchBefore = catalog.writerStats().transactions;
  const settled = await Promise.allSettled(rows.map((row) => catalog.commitPending(row.id)));
  assert.ok(catalog.writerStats().largestBatch >= rows.length, 'the commits shared a batch');
  assert.ok(catalog.writerStats().transactions > batchBefore + 1, 'the poisoned batch was rolled back and the rest run again');

  const states = new Map((raw().prepare('SELECT id, state FROM photos').all() as Array<{ id: string; state: string }>).map((r) => [r.id, r.state]));
  rows.forEach((row, i) => {
    const outcome = settled[i]!;
    if (row === poisoned) {
      assert.equal(outcome.status, 'rejected');
      assert.match(String((outcome as PromiseRejectedResult).reason), /poisoned commit/);
      assert.equal(states.get(row.id), 'pending', 'the poisoned row stays pending, for recovery');
      return;
    }
    assert.equal(outcome.status, 'fulfilled', `commit ${i}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`);
    assert.equal(states.get(row.id), 'committed', `commit ${i} was acknowledged: its row is committed in the file`);
  });
  for (const row of rows.filter((r) => r !== poisoned)) assert.equal((await catalog.getPhoto('client-a', row.id))?.id, row.id);

  // The writer serves on: the trigger gone, the poisoned row commits too.
  raw().exec('DROP TRIGGER poison');
  assert.equal((await catalog.commitPending(poisoned.id)).id, poisoned.id);
  assert.deepEqual(await catalog.countByState(), { pending: 0, committed: rows.length, deleting: 0 });
});
