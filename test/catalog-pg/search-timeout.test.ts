// A search that runs past STORAGED_SEARCH_TIMEOUT_MS answers the same on the
// PostgreSQL catalog as on SQLite (test/search-threads/search-threads.test.ts):
// VALIDATION, not retryable, "narrow it", details.limit, on both doors. It was
// bounded only by STORAGED_CATALOG_TIMEOUT_MS, and PostgreSQL's 57014 came
// back as the retryable UNAVAILABLE of an outage, so a client retried a
// search that would cost the same again. An outage still answers UNAVAILABLE.
//
// A real slow search: one tenant of 200,000 rows, each with a word starting
// with `i`, sorted by size (no index gives that order): the server counts and
// sorts every row, far past a 10 ms bound on any machine.

import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { photoSearchWords } from '../../src/daemon/catalog-pg/search-words';
import { createLogger } from '../../src/daemon/logger';
import { searchTooLong } from '../../src/daemon/search-threads/search-threads';
import { StorageError } from '../../src/protocol/errors';
import { RemoteClient } from '../../src/remote-client';
import { startCatalogDatabase } from '../support/catalog-database';
import { storageErrorOf } from '../support/expect-code';
import { startMinio } from '../support/minio-server';
import { startPostgres } from '../support/postgres';
import { startGateway, TOKENS } from '../gateway/gateway-fixture';

const BIG_ROWS = 200_000;
const BATCH_ROWS = 20_000;
/** Every row has a word starting with `i`, and the size sort cannot use an index. */
const BROAD = { query: 'i', limit: 1000, sort: { field: 'size', order: 'desc' } } as const;
/** The smallest STORAGED_SEARCH_TIMEOUT_MS the daemon accepts. */
const TINY_MS = 10;
/**
 * Both of a catalog's bounds, where they are equal: room to connect and open
 * on a loaded machine (50 ms was not, at a load average of 7: the open itself
 * timed out, UNAVAILABLE), far less than the broad search (~1 s idle, slower
 * under the same load).
 */
const EQUAL_MS = 300;

/** BIG_ROWS committed photos of `clientId`, written straight into the (migrated) database at `url`. */
async function fillCatalog(url: string, clientId: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let from = 0; from < BIG_ROWS; from += BATCH_ROWS) {
      const ids: string[] = [];
      const names: string[] = [];
      const sizes: number[] = [];
      const words: string[] = [];
      for (let i = from; i < from + BATCH_ROWS; i++) {
        const name = `img${i % 97} holiday n${i}.jpg`;
        ids.push(randomUUID());
        names.push(name);
        sizes.push(1000 + ((i * 7919) % 100_000));
        words.push(photoSearchWords(name, 'image/jpeg'));
      }
      await client.query(
        `INSERT INTO photos (id, client_id, user_id, original_filename, mime_type, bucket, s3_key, size, checksum, metadata,
           state, state_changed_at, uploaded_at, created_at, updated_at, search_words)
         SELECT id, $5, 'user-1', name, 'image/jpeg', 'images', 'storaged/' || id || '.jpg', size, repeat('ab', 32), '{}',
           'committed', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', words::tsvector
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS r(id, name, size, words)`,
        [ids, names, sizes, words, clientId],
      );
    }
    await client.query('ANALYZE photos');
  } finally {
    await client.end();
  }
}


function assertTooLong(err: StorageError, limit: number, where: string): void {
  const expected = searchTooLong(limit);
  assert.equal(err.code, 'VALIDATION', `${where}: ${err.message}`);
  assert.equal(err.retryable, false, where);
  assert.equal(err.message, expected.message, where);
  // The gateway adds the request's id to every error's details; the rest is the search's.
  const { requestId: _, ...details } = err.details ?? {};
  assert.deepEqual(details, { limit }, where);
}

test('PostgreSQL catalog: a search past its own time bound is VALIDATION with the SQLite message; the catalog goes on', { timeout: 300_000 }, async (t) => {
  const server = await startPostgres();
  t.after(() => server.dispose());
  const url = await server.createDatabase();
  // The catalog's general bound stays at its default (5 s): only the search's own bound can stop this search.
  const catalog = await PostgresCatalog.open({ url, logger: createLogger('silent'), nodeId: 'node-a', searchTimeoutMs: TINY_MS });
  t.after(() => catalog.close());
  await fillCatalog(url, 'big');

  assertTooLong(await storageErrorOf(catalog.search('big', BROAD)), TINY_MS, 'search');
  assert.equal(catalog.searchesTimedOut, 1, 'counted for storaged_search_timed_out_total');
  // Its bound ends with its transaction: the catalog's other reads on the pool keep the general one.
  assert.equal(await catalog.isEmpty(), false);
  assert.equal((await catalog.countByState()).committed, BIG_ROWS);

  // The two bounds equal (as by default): the pool's statement_timeout is the search's, with no transaction of its own;
  // the answer is the same. (Its connections are made by open(), so the tiny bound on connecting is not met again.)
  const equal = await PostgresCatalog.open({ url, logger: createLogger('silent'), nodeId: 'node-c', timeoutMs: EQUAL_MS, searchTimeoutMs: EQUAL_MS });
  t.after(() => equal.close());
  assertTooLong(await storageErrorOf(equal.search('big', BROAD)), EQUAL_MS, 'search, bounds equal');
  assert.equal(equal.searchesTimedOut, 1);

  // The same search under a bound it fits in is answered, with its true total.
  const roomy = await PostgresCatalog.open({ url, logger: createLogger('silent'), nodeId: 'node-b', searchTimeoutMs: 120_000 });
  t.after(() => roomy.close());
  const started = performance.now();
  const page = await roomy.search('big', BROAD);
  t.diagnostic(`the broad search took ${Math.round(performance.now() - started)} ms`);
  assert.equal(page.total, BIG_ROWS);
  assert.ok(page.photos.length > 0 && page.page.hasMore);
  assert.equal(roomy.searchesTimedOut, 0);
});

test('PostgreSQL catalog behind a daemon: the search past STORAGED_SEARCH_TIMEOUT_MS is VALIDATION on both doors; PostgreSQL down is still UNAVAILABLE', { timeout: 300_000 }, async (t) => {
  const minio = await startMinio(t);
  const database = await startCatalogDatabase(t);
  const g = await startGateway(t, minio, { STORAGED_CATALOG_URL: database.url, STORAGED_CATALOG_TIMEOUT_MS: '2000', STORAGED_SEARCH_TIMEOUT_MS: String(TINY_MS) });
  database.disposeLast();
  await fillCatalog(database.url, 'acme');
  const sidecar = g.client('acme', { cacheConfig: { enabled: false } });
  const remote = new RemoteClient({ url: g.url, token: TOKENS.acme });
  t.after(() => remote.close());

  assertTooLong(await storageErrorOf(sidecar.searchPhotos(BROAD)), TINY_MS, 'socket');
  assertTooLong(await storageErrorOf(remote.searchPhotos(BROAD)), TINY_MS, 'gateway client');
  const http = await g.json('POST', '/photos/search', { body: JSON.stringify(BROAD), headers: { 'content-type': 'application/json' } });
  assert.equal(http.status, 400);
  assert.equal(http.body.error.code, 'VALIDATION');
  assert.equal(http.body.error.message, searchTooLong(TINY_MS).message);
  assert.equal(http.body.error.details.limit, TINY_MS);
  assert.equal((await g.json('GET', '/ready')).status, 200, 'a search that ran too long is no outage');
  const metrics = await g.call('GET', '/metrics', { as: 'admin' });
  assert.equal(metrics.statusCode, 200);
  assert.match(await metrics.body.text(), /^storaged_search_timed_out_total 3$/m, 'the three searches counted, as on SQLite');

  // PostgreSQL gone: the same searches are the retryable UNAVAILABLE of an outage, on both doors.
  await database.server.stop();
  for (const [door, err] of [
    ['socket', await storageErrorOf(sidecar.searchPhotos(BROAD))],
    ['gateway client', await storageErrorOf(remote.searchPhotos(BROAD))],
  ] as const) {
    assert.equal(err.code, 'UNAVAILABLE', `${door}: ${err.message}`);
    assert.equal(err.retryable, true, door);
  }
  const down = await g.json('POST', '/photos/search', { body: JSON.stringify(BROAD), headers: { 'content-type': 'application/json' } });
  assert.deepEqual([down.status, down.body.error.code], [503, 'UNAVAILABLE']);
});
