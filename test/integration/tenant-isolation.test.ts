import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

test('client B cannot get, update, delete or find client A photo', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const a = d.client('tenant-a');
  const b = d.client('tenant-b');
  const stored = await a.storePhoto(pngBytes(4096), { originalName: 'secret-plans.png', clientId: 'tenant-a', userId: 'shared-user' });

  await rejectsWithCode(b.getPhoto(stored.id), 'NOT_FOUND');
  await rejectsWithCode(b.getPhotoUrl(stored.id), 'NOT_FOUND');
  await rejectsWithCode(b.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' }), 'NOT_FOUND');
  await rejectsWithCode(b.deletePhoto(stored.id), 'NOT_FOUND');
  assert.equal((await b.searchPhotos({ query: 'secret' })).total, 0);
  assert.equal((await b.searchPhotos({ filters: { client_id: 'tenant-a' } })).total, 0);
  assert.equal((await b.getUserPhotos('shared-user')).pagination.total, 0);

  // A's photo is untouched by all of that.
  const photo = await a.getPhoto(stored.id);
  assert.equal(photo.processing_status, 'queued');
  assert.equal((await a.searchPhotos({ query: 'secret' })).total, 1);
});

test('a store claiming another client id is refused before any byte is sent', { timeout: 30_000 }, async (t) => {
  const d = await startTestDaemon(t, null);
  const b = d.client('tenant-b');
  await rejectsWithCode(b.storePhoto(pngBytes(100), { originalName: 'x.png', clientId: 'tenant-a' }), 'VALIDATION', /client/i);
  assert.equal(d.daemon.catalog.writerStats().writes, 0);
});
