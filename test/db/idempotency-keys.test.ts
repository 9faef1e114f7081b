// Idempotency keys in the catalog: recorded by the commit of their photo (in
// the same transaction), refused to a second photo while their window lasts,
// taken over once it has passed, and pruned.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyTakenError, storeFingerprint } from '../../src/daemon/db/idempotency-keys';
import { newRow, openTestCatalog } from './catalog-fixture';

test('a commit records its key with the first result and the store\'s fingerprint', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const row = newRow({ idempotency_key: 'key-1', metadata: { b: '2', a: '1' } });
  await catalog.insertPending(row);
  assert.equal(await catalog.storedUnderKey('client-a', 'key-1'), null, 'a pending store has no record yet');
  const photo = await catalog.commitPending(row.id);
  const record = await catalog.storedUnderKey('client-a', 'key-1');
  assert.ok(record);
  assert.equal(record.photoId, photo.id);
  assert.deepEqual(record.result, {
    id: photo.id,
    s3_key: photo.s3_key,
    bucket: photo.bucket,
    size: photo.size,
    checksum: photo.checksum,
    processing_status: 'queued',
    created_at: photo.created_at,
    original_filename: 'photo.jpg',
    mime_type: 'image/jpeg',
  });
  const facts = { ...row, metadata: { a: '1', b: '2' } };
  assert.equal(record.fingerprint, storeFingerprint(facts), 'metadata order does not matter');
  assert.notEqual(record.fingerprint, storeFingerprint({ ...facts, size: facts.size + 1 }));
  assert.equal(await catalog.storedUnderKey('client-b', 'key-1'), null, 'keys are per client');
  assert.equal(raw().prepare('SELECT idempotency_key FROM photos WHERE id = ?').pluck().get(row.id), 'key-1');
});

test('a second photo under a live key is not committed: KeyTakenError, its row stays pending; recovery gets key-taken', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const first = newRow({ idempotency_key: 'dup' });
  const second = newRow({ idempotency_key: 'dup' });
  const third = newRow({ idempotency_key: 'dup' });
  for (const row of [first, second, third]) await catalog.insertPending(row);
  await catalog.commitPending(first.id);
  await assert.rejects(catalog.commitPending(second.id), KeyTakenError);
  const state = raw().prepare('SELECT state FROM photos WHERE id = ?').pluck();
  assert.equal(state.get(second.id), 'pending');
  assert.equal(await catalog.commitRecovered(third.id), 'key-taken');
  assert.equal(state.get(third.id), 'pending');
  assert.equal((await catalog.storedUnderKey('client-a', 'dup'))?.photoId, first.id);
  assert.equal(await catalog.getPhoto('client-a', second.id), null);
  // Another client's same key is its own.
  const other = newRow({ idempotency_key: 'dup', client_id: 'client-b' });
  await catalog.insertPending(other);
  assert.equal(await catalog.commitRecovered(other.id), 'committed');
});

test('rows without a key commit as before, any number of them', async (t) => {
  const { catalog } = openTestCatalog(t);
  for (let i = 0; i < 3; i++) {
    const row = newRow();
    await catalog.insertPending(row);
    await catalog.commitPending(row.id);
  }
});

test('a key past its window is forgotten: looked up as absent, taken over by a new store, pruned', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const old = newRow({ idempotency_key: 'old' });
  await catalog.insertPending(old);
  await catalog.commitPending(old.id);
  const gone = new Date(Date.now() - 25 * 3600_000).toISOString();
  raw().prepare("UPDATE idempotency_keys SET created_at = ? WHERE key = 'old'").run(gone);
  assert.equal(await catalog.storedUnderKey('client-a', 'old'), null);

  const again = newRow({ idempotency_key: 'old' });
  await catalog.insertPending(again);
  await catalog.commitPending(again.id);
  assert.equal((await catalog.storedUnderKey('client-a', 'old'))?.photoId, again.id);

  raw().prepare('UPDATE idempotency_keys SET created_at = ?').run(gone);
  assert.equal(await catalog.pruneIdempotencyKeys(), 1);
  assert.equal(raw().prepare('SELECT count(*) FROM idempotency_keys').pluck().get(), 0);
});

test('a recovered commit of a row no longer pending (another daemon settled it) is settled, not an error', async (t) => {
  const { catalog } = openTestCatalog(t);
  const row = newRow();
  await catalog.insertPending(row);
  await catalog.commitPending(row.id);
  assert.equal(await catalog.commitRecovered(row.id), 'settled');
  const gone = newRow();
  await catalog.insertPending(gone);
  assert.equal(await catalog.abandonPending(gone.id), true);
  assert.equal(await catalog.abandonPending(gone.id), false, 'abandoned once: the second finds it deleting');
  assert.equal(await catalog.commitRecovered(gone.id), 'settled', 'an abandoned row cannot be committed');
});
