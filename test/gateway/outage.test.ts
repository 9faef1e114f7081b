// MinIO stopped under a running gateway: writes answer 503 without naming the
// store's address, /ready fails naming the blob check (with its reason to an
// admin token only, as error bodies name no address), /health stays 200,
// metadata reads keep working, a delete hides its photo but answers 503 until
// its object is removed; once MinIO is back, everything heals.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { startGateway } from './gateway-fixture';

test('with MinIO down, writes are 503, /ready is 503 naming the blob store, /health is 200', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio);
  const before = await g.json('POST', '/photos?filename=before.png', { body: pngBytes(2048), headers: { 'content-type': 'image/png' } });
  assert.equal(before.status, 201);
  const doomed = await g.json('POST', '/photos?filename=doomed.png', { body: pngBytes(2048), headers: { 'content-type': 'image/png' } });
  assert.equal(doomed.status, 201);

  await minio.stop();
  const write = await g.json('POST', '/photos?filename=during.png', { body: pngBytes(2048), headers: { 'content-type': 'image/png' } });
  assert.equal(write.status, 503);
  assert.equal(write.body.error.code, 'UNAVAILABLE');
  assert.doesNotMatch(JSON.stringify(write.body), /127\.0\.0\.1|:\d{4,5}|minio/i, 'the error leaks the blob store address');
  const read = await g.json('GET', `/photos/${before.body.id}/content`);
  assert.equal(read.status, 503);
  // A delete hides the photo but is not acknowledged while its object stays: 503, to be sent again.
  const deleting = await g.json('DELETE', `/photos/${doomed.body.id}`);
  assert.equal(deleting.status, 503);
  assert.equal(deleting.body.error.code, 'UNAVAILABLE');
  assert.equal(deleting.headers['retry-after'], '1');
  // The caller is told what happened and what to do, which the generic outage message did not say.
  assert.match(deleting.body.error.message, new RegExp(`photo ${doomed.body.id} is hidden but not yet deleted.*send the same delete again`));
  assert.doesNotMatch(JSON.stringify(deleting.body), /127\.0\.0\.1|:\d{4,5}|minio/i, 'the error leaks the blob store address');
  assert.equal((await g.json('GET', `/photos/${doomed.body.id}`)).status, 404, 'hidden meanwhile');

  // The operator's token reads which part is down and why; a tenant's reads that something is, as its error bodies say.
  const ready = await g.json('GET', '/ready', { as: 'admin' });
  assert.equal(ready.status, 503);
  assert.equal(ready.body.status, 'unready');
  assert.equal(ready.body.checks.sqlite, 'ok');
  assert.match(ready.body.checks.blobs, /MinIO at 127\.0\.0\.1:\d+ is unreachable/);
  const tenantReady = await g.json('GET', '/ready');
  assert.equal(tenantReady.status, 503);
  assert.deepEqual(tenantReady.body, { status: 'unready', checks: { sqlite: 'ok', blobs: 'failing' } });
  assert.doesNotMatch(JSON.stringify(tenantReady.body), /127\.0\.0\.1|:\d{4,5}|minio/i, "a tenant's /ready leaks the blob store address");
  assert.deepEqual((await g.json('GET', '/health', { as: null })).body, { status: 'ok' });
  assert.equal((await g.json('GET', `/photos/${before.body.id}`)).status, 200, 'metadata lives in SQLite');
  // The failed store's blob side waits for MinIO: its row stays `pending` (invisible) for recovery.
  assert.deepEqual(await g.daemon.catalog.countByState(), { pending: 1, committed: 1, deleting: 1 });
  assert.ok(g.logs.some((l) => l.msg === 'gateway call failed' && l.code === 'UNAVAILABLE'), 'the real cause is logged');

  await minio.restart();
  assert.equal((await g.json('GET', '/ready')).status, 200);
  assert.equal((await g.json('POST', '/photos?filename=after.png', { body: pngBytes(2048), headers: { 'content-type': 'image/png' } })).status, 201);
  assert.equal((await g.json('DELETE', `/photos/${doomed.body.id}`)).status, 204, 'the delete sent again finishes it');
  assert.equal((await g.json('DELETE', `/photos/${doomed.body.id}`)).status, 404);
});

test('/ready names SQLite when the database cannot take writes', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  await g.daemon.catalog.close();
  const ready = await g.json('GET', '/ready', { as: 'admin' });
  assert.equal(ready.status, 503);
  assert.deepEqual(ready.body, {
    status: 'unready',
    checks: { sqlite: 'the catalog is closed', blobs: 'ok' },
    details: { backup: { intervalSeconds: 3600, lastSuccess: null, lastFailure: null } },
  });
  assert.equal((await g.json('GET', '/health', { as: null })).status, 200);
});
