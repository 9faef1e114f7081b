// PostgreSQL stopped under a running daemon: every call that needs the
// catalog answers UNAVAILABLE (503 over HTTP, retryable over the socket)
// instead of hanging, /ready is 503 naming the catalog, /health stays 200;
// once PostgreSQL is back the daemon carries on without a restart.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCatalogDatabase } from '../support/catalog-database';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { waitFor } from '../support/wait-for';
import { startGateway } from './gateway-fixture';

test('with PostgreSQL down, calls are UNAVAILABLE, /ready is 503 naming it; all heals when it returns', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const catalog = await startCatalogDatabase(t);
  const g = await startGateway(t, minio, { STORAGED_CATALOG_URL: catalog.url, STORAGED_CATALOG_TIMEOUT_MS: '2000' });
  catalog.disposeLast();
  const store = (name: string) => g.json('POST', `/photos?filename=${name}`, { body: pngBytes(2048), headers: { 'content-type': 'image/png' } });
  const before = await store('before.png');
  assert.equal(before.status, 201);
  const ready = await g.json('GET', '/ready');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.checks.postgres, 'ok');
  const sidecar = g.client('acme');

  await catalog.server.stop();
  const during = await store('during.png');
  assert.equal(during.status, 503);
  assert.equal(during.body.error.code, 'UNAVAILABLE');
  assert.doesNotMatch(JSON.stringify(during.body), /127\.0\.0\.1|:\d{4,5}|postgres/i, 'the error leaks the catalog address');
  assert.equal((await g.json('GET', `/photos/${before.body.id}`)).status, 503, 'a read needs the catalog too (the cache is off without notifications)');
  await assert.rejects(sidecar.getPhoto(before.body.id), { code: 'UNAVAILABLE', retryable: true });
  await assert.rejects(sidecar.searchPhotos({ query: 'before' }), { code: 'UNAVAILABLE' });
  const unready = await g.json('GET', '/ready');
  assert.equal(unready.status, 503);
  assert.match(unready.body.checks.postgres, /catalog \(PostgreSQL\) cannot be reached/);
  assert.equal(unready.body.checks.blobs, 'ok');
  assert.deepEqual((await g.json('GET', '/health', { as: null })).body, { status: 'ok' });

  await catalog.server.restart();
  await waitFor(async () => (await g.json('GET', '/ready')).status === 200, '/ready once PostgreSQL is back', 30_000);
  assert.equal((await store('after.png')).status, 201);
  assert.equal((await sidecar.getPhoto(before.body.id)).id, before.body.id);
});
