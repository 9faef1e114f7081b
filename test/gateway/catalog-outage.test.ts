// PostgreSQL stopped under a running daemon: every call that needs the
// catalog answers UNAVAILABLE (503 over HTTP, retryable over the socket)
// instead of hanging, /ready is 503 naming the catalog, /health stays 200;
// once PostgreSQL is back the daemon carries on without a restart.
//
// And PostgreSQL hung rather than stopped (SIGSTOP: a host frozen, a
// partition): its connections stay open and new ones are accepted by the
// kernel, but nothing ever answers. Only the daemon's own timeouts stand
// between a caller and a hang.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StorageClient } from '../../src/sidecar-client/storage-client';
import { startCatalogDatabase } from '../support/catalog-database';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { processState } from '../support/postgres';
import { waitFor } from '../support/wait-for';
import { startGateway, type GatewayFixture } from './gateway-fixture';

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
  const unready = await g.json('GET', '/ready', { as: 'admin' });
  assert.equal(unready.status, 503);
  assert.match(unready.body.checks.postgres, /catalog \(PostgreSQL\) cannot be reached/);
  assert.equal(unready.body.checks.blobs, 'ok');
  assert.deepEqual((await g.json('GET', '/health', { as: null })).body, { status: 'ok' });

  await catalog.server.restart();
  await waitFor(async () => (await g.json('GET', '/ready')).status === 200, '/ready once PostgreSQL is back', 30_000);
  assert.equal((await store('after.png')).status, 201);
  assert.equal((await sidecar.getPhoto(before.body.id)).id, before.body.id);
});

/** STORAGED_CATALOG_TIMEOUT_MS for the frozen server: small, so that the test is short; the assertions do not depend on it. */
const FROZEN_TIMEOUT_MS = 1000;

/** The catalog calls of both doors, each expected to end UNAVAILABLE; resolves with how long each took. */
function catalogCalls(g: GatewayFixture, sidecar: StorageClient, ids: { uncached: string }, round: string): Array<Promise<[string, number]>> {
  const timed = async (what: string, call: () => Promise<void>): Promise<[string, number]> => {
    const started = performance.now();
    await call();
    return [`${round} ${what}`, performance.now() - started];
  };
  const unavailable = { code: 'UNAVAILABLE', retryable: true };
  const http503 = async (method: string, path: string, body?: Buffer) => {
    const res = await g.json(method, path, body === undefined ? {} : { body, headers: { 'content-type': 'image/png' } });
    assert.deepEqual([res.status, res.body?.error?.code], [503, 'UNAVAILABLE'], `${round} ${method} ${path}`);
  };
  return [
    timed('socket getPhoto (not cached)', () => assert.rejects(sidecar.getPhoto(ids.uncached), unavailable)),
    timed('socket searchPhotos', () => assert.rejects(sidecar.searchPhotos({ query: 'before' }), unavailable)),
    timed('socket storePhoto', () => assert.rejects(sidecar.storePhoto(pngBytes(2048), { originalName: `${round}.png`, clientId: 'acme' }), unavailable)),
    timed('http GET /photos/:id', () => http503('GET', `/photos/${ids.uncached}`)),
    timed('http POST /photos', () => http503('POST', `/photos?filename=${round}.png`, pngBytes(2048))),
    timed('http GET /ready', async () => {
      const ready = await g.json('GET', '/ready');
      assert.equal(ready.status, 503, `${round} /ready`);
      assert.notEqual(ready.body.checks.postgres, 'ok');
      assert.equal(ready.body.checks.blobs, 'ok');
    }),
  ];
}

test('with PostgreSQL frozen (SIGSTOP), catalog calls end UNAVAILABLE instead of hanging, /ready is 503; after SIGCONT all heals by itself', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const catalog = await startCatalogDatabase(t);
  // Registered before the daemon's hooks, so it runs before them (after-hooks run in order): however the test ends, nothing is left waiting on a frozen server.
  t.after(() => catalog.server.thaw());
  const g = await startGateway(t, minio, { STORAGED_CATALOG_URL: catalog.url, STORAGED_CATALOG_TIMEOUT_MS: String(FROZEN_TIMEOUT_MS) });
  catalog.disposeLast();
  // No client cache: every call must reach the daemon.
  const sidecar = g.client('acme', { cacheConfig: { enabled: false } });

  const before = await sidecar.storePhoto(pngBytes(2048), { originalName: 'before.png', clientId: 'acme' });
  // Busy the pool, so that the freeze finds open connections as well as new ones to make.
  await Promise.all(Array.from({ length: 8 }, () => sidecar.searchPhotos({ query: 'before' })));
  assert.equal((await g.json('GET', '/ready')).status, 200);

  const pids = catalog.server.freeze();
  await waitFor(() => pids.every((pid) => processState(pid) === 'T'), 'every PostgreSQL process stopped');
  t.diagnostic(`froze the postmaster and its ${pids.length - 1} children (backends and helpers)`);

  // First the connections the pool holds (they never answer), then new ones (the kernel accepts them; PostgreSQL never does).
  for (const round of ['first', 'second']) {
    const calls = Promise.all(catalogCalls(g, sidecar, { uncached: before.id }, round));
    // Meanwhile, what needs no catalog is answered at once.
    assert.deepEqual((await g.json('GET', '/health', { as: null })).body, { status: 'ok' });
    await assert.rejects(sidecar.searchPhotos({ sort: { field: 'password' } } as never), { code: 'VALIDATION' });
    const ends = await calls;
    t.diagnostic(ends.map(([what, ms]) => `${what}: UNAVAILABLE in ${Math.round(ms)} ms`).join('; '));
  }
  assert.ok(pids.every((pid) => processState(pid) === 'T'), 'PostgreSQL stayed frozen throughout');

  const thawed = performance.now();
  catalog.server.thaw();
  await waitFor(async () => (await g.json('GET', '/ready')).status === 200, '/ready once PostgreSQL answers again', 60_000);
  t.diagnostic(`/ready 200 again ${Math.round(performance.now() - thawed)} ms after SIGCONT`);
  assert.equal((await sidecar.getPhoto(before.id)).id, before.id);
  assert.ok((await sidecar.searchPhotos({ query: 'before' })).photos.some((p) => p.id === before.id));
  const after = await sidecar.storePhoto(pngBytes(2048), { originalName: 'after.png', clientId: 'acme' });
  assert.equal((await g.json('GET', `/photos/${after.id}`)).status, 200);
  assert.equal((await g.json('POST', '/photos?filename=after-http.png', { body: pngBytes(2048), headers: { 'content-type': 'image/png' } })).status, 201);
});
