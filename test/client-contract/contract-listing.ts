// Finding photos again (search, a user's pages by offset and by cursor),
// changing their metadata along the processing transitions, and deleting them.

import * as assert from 'node:assert/strict';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import type { ContractCheck } from './client-contract';

export const listingChecks: Record<string, ContractCheck> = {
  'search by words, by filters, and finding nothing': async (_t, env) => {
    const client = env.client('acme');
    const stored = await client.storePhoto(pngBytes(4096), {
      originalName: 'zanzibar-lagoon.png',
      clientId: 'acme',
      userId: 'search-user',
    });
    const byWord = await client.searchPhotos({ query: 'zanzibar' });
    assert.deepEqual(byWord.photos.map((p) => p.id), [stored.id]);
    assert.equal(byWord.total, 1);
    assert.equal(byWord.page.hasMore, false);
    assert.equal((await client.searchPhotos({ query: 'zanzi' })).total, 1);
    const byFilters = await client.searchPhotos({ filters: { user_id: 'search-user', mime_type: ['image/png'] } });
    assert.deepEqual(byFilters.photos.map((p) => p.id), [stored.id]);
    assert.equal((await client.searchPhotos({ query: 'zanzibar', filters: { mime_type: ['image/jpeg'] } })).total, 0);
    assert.equal((await client.searchPhotos({ filters: { user_id: 'nobody-here' } })).total, 0);
  },

  "a user's photos page by offset and by cursor, each photo once": async (_t, env) => {
    const client = env.client('acme');
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) {
      ids.add((await client.storePhoto(pngBytes(2048), { originalName: `page-${i}.png`, clientId: 'acme', userId: 'pager' })).id);
    }
    const byCursor: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await client.getUserPhotos('pager', cursor === undefined ? { limit: 3 } : { limit: 3, cursor });
      assert.equal(page.pagination.total, 7);
      byCursor.push(...page.photos.map((p) => p.id));
      if (!page.pagination.hasMore) {
        assert.equal(page.pagination.nextCursor, null);
        break;
      }
      cursor = page.pagination.nextCursor!;
      assert.equal(typeof cursor, 'string');
    }
    assert.equal(byCursor.length, 7);
    assert.deepEqual(new Set(byCursor), ids);

    const byOffset: string[] = [];
    for (let offset = 0; offset < 7; offset += 3) {
      const page = await client.getUserPhotos('pager', { limit: 3, offset });
      byOffset.push(...page.photos.map((p) => p.id));
      assert.equal(page.pagination.hasMore, offset + 3 < 7);
    }
    assert.deepEqual(byOffset, byCursor);
    const all = await client.getUserPhotos('pager');
    assert.deepEqual(all.photos.map((p) => p.id), byCursor);
  },

  'metadata updates follow the processing transitions': async (_t, env) => {
    const client = env.client('acme');
    const { id } = await client.storePhoto(pngBytes(4096), { originalName: 'process-me.png', clientId: 'acme' });
    const started = await client.updatePhotoMetadata(id, { processing_status: 'in_progress' });
    assert.equal(started.processing_status, 'in_progress');
    assert.ok(started.processing_started_at);
    const done = await client.updatePhotoMetadata(id, {
      processing_status: 'completed',
      processing_metadata: { faces: 2, tags: ['beach'] },
      width: 1024,
      height: 768,
      metadata: { album: 'done' },
    });
    assert.equal(done.processing_status, 'completed');
    assert.deepEqual(done.processing_metadata, { faces: 2, tags: ['beach'] });
    assert.equal(done.width, 1024);
    assert.deepEqual(done.metadata, { album: 'done' });
    await rejectsWithCode(client.updatePhotoMetadata(id, { processing_status: 'in_progress' }), 'CONFLICT');
    await rejectsWithCode(client.updatePhotoMetadata(id, { client_id: 'rival' } as never), 'VALIDATION');
    await rejectsWithCode(client.updatePhotoMetadata(id, { width: -5 }), 'VALIDATION');
    const now = await client.getPhoto(id);
    assert.equal(now.processing_status, 'completed');
    assert.equal(now.width, 1024);
  },

  'delete, then NOT_FOUND for every call on that id': async (_t, env) => {
    const client = env.client('acme');
    const stored = await client.storePhoto(pngBytes(4096), { originalName: 'short-lived.png', clientId: 'acme', userId: 'deleter' });
    await client.deletePhoto(stored.id);
    await rejectsWithCode(client.getPhoto(stored.id), 'NOT_FOUND');
    await rejectsWithCode(client.getPhotoUrl(stored.id), 'NOT_FOUND');
    await rejectsWithCode(client.readPhoto(stored.id), 'NOT_FOUND');
    await rejectsWithCode(client.updatePhotoMetadata(stored.id, { width: 1 }), 'NOT_FOUND');
    await rejectsWithCode(client.deletePhoto(stored.id), 'NOT_FOUND');
    assert.equal((await client.getUserPhotos('deleter')).pagination.total, 0);
    assert.equal((await client.searchPhotos({ query: 'short-lived' })).total, 0);
  },
};
