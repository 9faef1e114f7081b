import * as assert from 'node:assert/strict';
import { ValidationError } from '../../src/protocol/errors';
import { MAX_PAGE_BYTES } from '../../src/daemon/db/photo-bytes';
import type { PhotoCatalog } from '../../src/daemon/db/photo-catalog';
import { addCommitted, testOnBothEngines } from './catalog-fixture';

async function addMany(catalog: PhotoCatalog, count: number, overrides = {}): Promise<string[]> {
  const ids = [];
  for (let i = 0; i < count; i++) ids.push((await addCommitted(catalog, { original_filename: `batch-${i}.jpg`, ...overrides })).id);
  return ids;
}

testOnBothEngines('offset pages report the real total and hasMore, including the last page', async (_t, { catalog }) => {
  await addMany(catalog, 5);

  const first = await catalog.search('client-a', { limit: 2 });
  assert.equal(first.total, 5);
  assert.equal(first.photos.length, 2);
  assert.deepEqual({ ...first.page, nextCursor: typeof first.page.nextCursor }, { limit: 2, offset: 0, hasMore: true, nextCursor: 'string' });

  const middle = await catalog.search('client-a', { limit: 2, offset: 2 });
  assert.equal(middle.page.hasMore, true);
  const last = await catalog.search('client-a', { limit: 2, offset: 4 });
  assert.equal(last.photos.length, 1);
  assert.equal(last.total, 5);
  assert.deepEqual(last.page, { limit: 2, offset: 4, hasMore: false, nextCursor: null });
  const exact = await catalog.search('client-a', { limit: 5 });
  assert.equal(exact.page.hasMore, false);
  const beyond = await catalog.search('client-a', { limit: 2, offset: 10 });
  assert.deepEqual([beyond.photos.length, beyond.total, beyond.page.hasMore], [0, 5, false]);
  assert.equal(typeof last.searchTime, 'number');
});

testOnBothEngines('cursor pages walk every row exactly once, even when sort values tie', async (_t, { catalog, exec }) => {
  const all = await addMany(catalog, 23);
  await exec('UPDATE photos SET uploaded_at = ?', '2024-06-01T00:00:00.000Z');
  await exec('UPDATE photos SET size = 7 WHERE seq % 2 = 0');

  for (const sort of [undefined, { field: 'size', order: 'asc' }, { field: 'original_filename', order: 'desc' }]) {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await catalog.search('client-a', { query: 'batch', limit: 5, ...(sort ? { sort } : {}), ...(cursor ? { cursor } : {}) });
      assert.equal(page.total, 23);
      seen.push(...page.photos.map((p) => p.id));
      cursor = page.page.nextCursor ?? undefined;
      assert.equal(page.page.hasMore, cursor !== undefined);
      pages++;
    } while (cursor);
    assert.equal(pages, 5);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.deepEqual([...seen].sort(), [...all].sort(), 'every row once');
  }
});

testOnBothEngines('a cursor reused with other text, filters or sort is refused', async (_t, { catalog }) => {
  await addMany(catalog, 4, { user_id: 'u1' });
  const { nextCursor } = (await catalog.search('client-a', { filters: { user_id: 'u1' }, limit: 2 })).page;
  assert.ok(nextCursor);

  assert.equal((await catalog.search('client-a', { filters: { user_id: 'u1' }, limit: 3, cursor: nextCursor })).photos.length, 2);
  for (const changed of [
    { filters: { user_id: 'u2' } },
    { filters: {} },
    { filters: { user_id: 'u1' }, query: 'batch' },
    { filters: { user_id: 'u1' }, sort: { field: 'size', order: 'desc' } },
  ]) {
    await assert.rejects(async () => await catalog.search('client-a', { ...changed, cursor: nextCursor }), {
      name: 'ValidationError',
      message: 'cursor belongs to a different search (text, filters or sort changed); start again without a cursor',
    });
  }
  await assert.rejects(async () => await catalog.search('client-b', { filters: { user_id: 'u1' }, cursor: nextCursor }), ValidationError);
});

testOnBothEngines('a cursor cannot be combined with an offset, and a forged cursor is refused', async (_t, { catalog }) => {
  await addMany(catalog, 3);
  const { nextCursor } = (await catalog.search('client-a', { limit: 1 })).page;
  await assert.rejects(async () => await catalog.search('client-a', { cursor: nextCursor, offset: 1 }), {
    message: 'cursor and offset cannot be combined: a cursor already says where the page starts',
  });
  const forged = Buffer.from(JSON.stringify({ s: 'uploaded_at', o: 'desc', k: 1, i: 'x', f: 'y' })).toString('base64url');
  for (const cursor of ['', 'not a cursor!', 'bm90IGpzb24', forged]) {
    await assert.rejects(async () => await catalog.search('client-a', { cursor }), ValidationError, cursor);
  }
});

testOnBothEngines('userPhotos pages a user’s photos newest first', async (_t, { catalog, exec }) => {
  const mine = await addMany(catalog, 3, { user_id: 'u1' });
  await addMany(catalog, 2, { user_id: 'u2' });
  for (const [i, id] of mine.entries()) await exec('UPDATE photos SET uploaded_at = ? WHERE id = ?', `2024-01-0${i + 1}T00:00:00.000Z`, id);

  const page = await catalog.userPhotos('client-a', 'u1', { limit: 2 });
  assert.deepEqual(page.photos.map((p) => p.id), [mine[2], mine[1]]);
  assert.equal(page.pagination.total, 3);
  assert.equal(page.pagination.hasMore, true);
  const rest = await catalog.userPhotos('client-a', 'u1', { limit: 2, cursor: page.pagination.nextCursor! });
  assert.deepEqual(rest.photos.map((p) => p.id), [mine[0]]);
  assert.deepEqual(rest.pagination, { total: 3, limit: 2, offset: 0, hasMore: false, nextCursor: null });
  assert.equal((await catalog.userPhotos('client-a', 'u1', undefined)).pagination.limit, 50);

  await assert.rejects(async () => await catalog.userPhotos('client-a', '', {}), { message: 'userId must be a non-empty string of at most 128 characters without control characters' });
  await assert.rejects(async () => await catalog.userPhotos('client-a', 42, {}), ValidationError);
  await assert.rejects(async () => await catalog.userPhotos('client-a', 'u1', { sort: 'size' }), /options has an unknown field "sort"/);
  await assert.rejects(async () => await catalog.userPhotos('client-a', 'u1', { limit: 0 }), { message: 'limit must be an integer between 1 and 1000' });
});

testOnBothEngines('a page of photos with large processing metadata is cut by bytes and continues by cursor or offset', async (_t, { catalog }) => {
  const heavy = Array.from({ length: 21_845 }, () => ({})); // 64 KiB of JSON, ~1.3 MiB once parsed
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const photo = await addCommitted(catalog, { original_filename: `heavy-${i}.jpg` });
    await catalog.updateMetadata('client-a', photo.id, { processing_metadata: heavy });
    ids.add(photo.id);
  }
  const first = (await catalog.search('client-a', { query: 'heavy', limit: 1000 }));
  assert.equal(first.total, 20);
  assert.ok(first.photos.length >= 1 && first.photos.length < 20, `a page of ${first.photos.length}`);
  assert.equal(first.page.limit, first.photos.length, 'page.limit says how many the cut page holds');
  assert.equal(first.page.hasMore, true);
  assert.ok(first.photos.length * 64 * 1024 * 2.25 <= MAX_PAGE_BYTES + 64 * 1024 * 2.25);

  const seen: string[] = first.photos.map((p) => p.id);
  for (let cursor = first.page.nextCursor; cursor !== null; ) {
    const page = (await catalog.search('client-a', { query: 'heavy', limit: 1000, cursor }));
    seen.push(...page.photos.map((p) => p.id));
    cursor = page.page.nextCursor;
  }
  assert.deepEqual([...seen].sort(), [...ids].sort(), 'every photo once, by cursor');

  const byOffset: string[] = [];
  for (let offset = 0; ; ) {
    const page = (await catalog.search('client-a', { query: 'heavy', limit: 1000, offset }));
    byOffset.push(...page.photos.map((p) => p.id));
    if (!page.page.hasMore) break;
    offset += page.page.limit;
  }
  assert.deepEqual(byOffset, seen, 'offset + page.limit walks the same pages');
  // A page that fits is not cut, and keeps the limit asked for.
  const small = (await catalog.search('client-a', { query: 'heavy', limit: 2 }));
  assert.equal(small.page.limit, 2);
  assert.equal(small.photos.length, 2);
  // A user's listing is a search too: cut alike, and continued alike.
  const listed = await catalog.userPhotos('client-a', 'user-1', { limit: 1000 });
  assert.deepEqual(
    { count: listed.photos.length, limit: listed.pagination.limit, hasMore: listed.pagination.hasMore, total: listed.pagination.total },
    { count: first.photos.length, limit: first.photos.length, hasMore: true, total: 20 },
  );
  const listedNext = await catalog.userPhotos('client-a', 'user-1', { limit: 1000, cursor: listed.pagination.nextCursor! });
  assert.ok(listedNext.photos.length >= 1 && !listedNext.photos.some((p) => listed.photos.some((q) => q.id === p.id)));
});
