// MinIO going away under a running daemon: stores answer UNAVAILABLE (a
// retryable code) and leave no visible row; reads of metadata keep working;
// once MinIO is back, stores succeed again without restarting the daemon, and
// recovery rolls back the failed store whose cleanup had to wait for MinIO.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { waitFor } from '../support/wait-for';
import { startMinio } from '../support/minio-server';

test('a MinIO outage fails stores with UNAVAILABLE, leaves no visible row, and heals when MinIO returns', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_PENDING_TIMEOUT_S: '1' } });
  const c = d.client('acme');
  const before = await c.storePhoto(pngBytes(2048), { originalName: 'before.png', clientId: 'acme' });

  await minio.stop();
  await rejectsWithCode(c.storePhoto(pngBytes(2048), { originalName: 'during.png', clientId: 'acme' }), 'UNAVAILABLE', /MinIO at 127\.0\.0\.1:\d+ is unreachable/);
  // Its blob side could not be cleaned with MinIO down: the row stays `pending` (invisible) for recovery.
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 1, committed: 1, deleting: 0 });
  // Metadata lives in SQLite: it stays readable, and the URL is computed without asking MinIO.
  assert.equal((await c.getPhoto(before.id)).id, before.id);
  assert.equal((await c.searchPhotos({ query: 'during' })).total, 0);

  await minio.restart();
  const after = await c.storePhoto(pngBytes(2048), { originalName: 'after.png', clientId: 'acme' });
  assert.equal((await c.getPhoto(after.id)).size, 2048);
  await waitFor(async () => (await d.daemon.recoverNow()).pendingRolledBack === 1, 'recovery to roll back the failed store');
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 2, deleting: 0 });
});
