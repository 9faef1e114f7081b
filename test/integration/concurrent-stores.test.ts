import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

test('200 stores from 8 connections all succeed, are all findable, and share transactions', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio);
  const clients = Array.from({ length: 8 }, () => d.client('busy'));
  const before = d.daemon.catalog.writerStats();

  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      clients[i % clients.length]!.storePhoto(pngBytes(2048 + i), { originalName: `batch-${i}.png`, clientId: 'busy' }),
    ),
  );
  assert.equal(new Set(results.map((r) => r.id)).size, 200);

  const found = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await clients[0]!.searchPhotos({ query: 'batch', limit: 64, ...(cursor ? { cursor } : {}) });
    assert.equal(page.total, 200);
    for (const p of page.photos) found.add(p.id);
    cursor = page.page.nextCursor ?? undefined;
  } while (cursor);
  assert.equal(found.size, 200);
  for (const r of results) assert.ok(found.has(r.id));

  // Each store is two writes (pending insert, commit); group commit folds concurrent ones together.
  const after = d.daemon.catalog.writerStats();
  const writes = after.writes - before.writes;
  const transactions = after.transactions - before.transactions;
  assert.equal(writes, 400);
  assert.ok(transactions < writes / 2, `expected batching: ${transactions} transactions for ${writes} writes`);
});
