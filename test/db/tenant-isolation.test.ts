import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFoundError } from '../../src/protocol/errors';
import { addCommitted, openTestCatalog } from './catalog-fixture';

test("client B can neither get, update, delete nor find client A's photo", async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog, { client_id: 'tenant-a', user_id: 'shared-user', original_filename: 'secret.jpg' });

  assert.equal(await catalog.getPhoto('tenant-b', photo.id), null);
  await assert.rejects(catalog.updateMetadata('tenant-b', photo.id, { processing_status: 'in_progress' }), NotFoundError);
  await assert.rejects(catalog.markDeleting('tenant-b', photo.id), { message: `photo ${photo.id} not found` });
  assert.equal((await catalog.search('tenant-b', { query: 'secret' })).total, 0);
  assert.equal((await catalog.search('tenant-b', {})).total, 0);
  assert.equal((await catalog.search('tenant-b', { filters: { client_id: 'tenant-a' } })).total, 0);
  assert.equal((await catalog.userPhotos('tenant-b', 'shared-user', {})).pagination.total, 0);

  // Client A's photo is untouched by all of that.
  assert.deepEqual(await catalog.getPhoto('tenant-a', photo.id), photo);
  assert.equal((await catalog.search('tenant-a', { query: 'secret' })).total, 1);
  assert.equal((await catalog.userPhotos('tenant-a', 'shared-user', {})).pagination.total, 1);
});
