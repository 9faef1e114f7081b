// A delete is acknowledged only once the photo's object is gone from the blob
// store. Acknowledged earlier (row hidden, object left for recovery), a
// catalog lost before recovery ran let `storaged rebuild` bring the deleted
// photo back from its object: so while MinIO is unreachable a delete hides
// the photo and answers UNAVAILABLE, and the delete sent again once MinIO is
// back removes the object and only then succeeds.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio, type MinioHandle } from '../support/minio-server';

async function keysNaming(minio: MinioHandle, bucket: string, id: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of minio.client.listObjectsV2(bucket, '', true)) {
    const name = (item as { name?: string }).name;
    if (name?.includes(id)) keys.push(name);
  }
  return keys;
}

test('a delete while MinIO is unreachable hides the photo but is not acknowledged; sent again, it removes the object and succeeds', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const acme = d.client('acme');
  const photo = await acme.storePhoto(pngBytes(2048), { originalName: 'private.png', clientId: 'acme' });
  // An update leaves the photo's update record beside its object: the delete must take both.
  await acme.updatePhotoMetadata(photo.id, { original_filename: 'renamed.png' });
  assert.equal((await keysNaming(minio, photo.bucket, photo.id)).length, 2, 'object and update record');

  await minio.stop();
  await rejectsWithCode(acme.deletePhoto(photo.id), 'UNAVAILABLE', /hidden.*not (yet )?(confirmed|removed)|send .*again/i);
  await rejectsWithCode(acme.getPhoto(photo.id), 'NOT_FOUND');
  assert.equal((await acme.searchPhotos({ query: 'renamed' })).total, 0, 'hidden from searches too');
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 1 });
  // Sent again while MinIO is still away: still not acknowledged.
  await rejectsWithCode(acme.deletePhoto(photo.id), 'UNAVAILABLE');
  // Another client learns nothing of the photo, whatever state it is in.
  await rejectsWithCode(d.client('other').deletePhoto(photo.id), 'NOT_FOUND');

  await minio.restart();
  await acme.deletePhoto(photo.id);
  assert.deepEqual(await keysNaming(minio, photo.bucket, photo.id), [], 'no object or record is left for a rebuild to bring back');
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  // Once it is gone, the row is too: a further delete is NOT_FOUND, as for any unknown photo.
  await rejectsWithCode(acme.deletePhoto(photo.id), 'NOT_FOUND');
});

test('recovery still finishes a delete that was refused while MinIO was away', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_PENDING_TIMEOUT_S: '1' } });
  const acme = d.client('acme');
  const photo = await acme.storePhoto(pngBytes(2048), { originalName: 'gone.png', clientId: 'acme' });
  await minio.stop();
  await rejectsWithCode(acme.deletePhoto(photo.id), 'UNAVAILABLE');
  await minio.restart();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await d.daemon.recoverNow()).deletesFinished, 1);
  assert.deepEqual(await keysNaming(minio, photo.bucket, photo.id), []);
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
});

test('a client that retries its delete through an outage is told it succeeded only after the object is gone', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const acme = d.client('acme', { retry: { retries: 20, minDelayMs: 200, maxDelayMs: 200, deadlineMs: 30_000 } });
  const photo = await acme.storePhoto(pngBytes(2048), { originalName: 'retried.png', clientId: 'acme' });
  await minio.stop();
  const deleting = acme.deletePhoto(photo.id);
  let settled = false;
  void deleting.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(settled, false, 'no answer while the object is still there');
  await minio.restart();
  await deleting;
  assert.deepEqual(await keysNaming(minio, photo.bucket, photo.id), []);
});
