// Two storaged processes on one PostgreSQL catalog under the same node id (two
// on one host without STORAGED_NODE_ID, two containers with one host name).
// The second used to start and roll the first one's stores in progress back
// as its own leftovers; now it refuses to start, naming the id, and the
// first one's store goes through. Daemons with ids of their own run side by
// side, and an id is free again once its daemon stops.

import * as assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Client } from 'pg';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startCatalogDatabase } from '../support/catalog-database';
import { pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { sharedCatalogStarter } from '../support/shared-catalog-daemon';
import { NODE_LOCK_CLASS } from '../../src/daemon/catalog-pg/node-lock';
import { startGateway } from '../gateway/gateway-fixture';
import { waitFor } from '../support/wait-for';

function starter(t: TestContext, minio: MinioHandle, url: string) {
  return sharedCatalogStarter(t, minio, url, {
    // Far longer than the test: only a daemon taking the row for its own could settle it.
    STORAGED_PENDING_TIMEOUT_S: '3600',
    // The pending row comes once the bucket is settled (past 10 MB: images-large) and a first part is spooled.
    STORAGED_SPOOL_THRESHOLD_BYTES: String(256 * 1024),
    STORAGED_PART_BYTES: String(5 * 1024 * 1024),
    // Room for the body that keeps coming while the second daemon tries to start.
    STORAGED_MAX_BODY_BYTES: String(256 * 1024 * 1024),
  });
}

test('a second daemon under a running one\'s node id refuses to start, and the first one\'s store in progress goes through', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  const start = starter(t, minio, url);
  const a = await start('node-x');
  const db = new Client({ connectionString: url });
  await db.connect();
  t.after(() => db.end());
  disposeLast();

  // A store through A whose body keeps coming: past the spool threshold its pending row exists while the body arrives.
  const viaA = new StorageClient({ socketPath: a.socketPath, clientId: 'acme', retry: false, callTimeoutMs: 120_000 });
  t.after(() => viaA.close());
  const body = new PassThrough();
  const storing = viaA.storePhoto(body, { originalName: 'in-progress.png', clientId: 'acme' }).then(
    (photo) => photo,
    (err: { code?: string; message?: string }) => err,
  );
  body.write(pngBytes(64 * 1024));
  const feeding = setInterval(() => body.write(Buffer.alloc(64 * 1024, 7)), 20);
  t.after(() => clearInterval(feeding));
  let id: string | undefined;
  await waitFor(async () => {
    id = (await db.query<{ id: string }>("SELECT id FROM photos WHERE state = 'pending' AND node_id = 'node-x'")).rows[0]?.id;
    return id !== undefined;
  }, "A's pending row", 20_000);

  const refused = await start('node-x').then(
    () => assert.fail('a second daemon under node-x started'),
    (err: Error) => err.message,
  );
  assert.match(refused, /daemon exited with 1 before it was ready/);
  assert.match(refused, /storaged: STORAGED_NODE_ID: node id 'node-x' is in use by another running storaged/, 'the refusal on stderr');
  assert.match(refused, /Set STORAGED_NODE_ID apart/);
  // Naming the holder: the first daemon's process and host, as its lock session tells PostgreSQL.
  assert.ok(refused.includes(`held by 'storaged node lock: pid ${a.proc.pid} on ${hostname()}, node node-x'`.slice(0, 64)), refused);
  assert.match(refused, /"level":60.*"storaged could not start"/, 'and in the log, as other refused starts');
  assert.deepEqual((await db.query('SELECT state FROM photos WHERE id = $1', [id])).rows, [{ state: 'pending' }], "A's store in progress is left alone");

  clearInterval(feeding);
  body.end(Buffer.alloc(64 * 1024, 7));
  const stored = await storing;
  assert.equal((stored as { id?: string }).id, id, `A's store is answered with its photo (got ${JSON.stringify(stored)})`);
  assert.deepEqual((await db.query('SELECT state FROM photos WHERE id = $1', [id])).rows, [{ state: 'committed' }]);

  // Another id runs beside A; once A stops, its id is free for a new daemon.
  const y = await start('node-y');
  assert.ok(y.socketPath.endsWith('node-y.sock'));
  assert.equal(await a.stop(), 0);
  const again = await start('node-x');
  const viaAgain = new StorageClient({ socketPath: again.socketPath, clientId: 'acme', retry: false });
  t.after(() => viaAgain.close());
  assert.equal((await viaAgain.getPhoto(id!)).id, id);
});

test('/ready fails naming the node id while another session holds it, and is ready again once the daemon takes it back', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const { url, disposeLast } = await startCatalogDatabase(t);
  const g = await startGateway(t, minio, { STORAGED_CATALOG_URL: url, STORAGED_NODE_ID: 'node-r' });
  const other = new Client({ connectionString: url });
  await other.connect();
  t.after(() => other.end());
  disposeLast();
  const ready = await g.json('GET', '/ready', { as: 'admin' });
  assert.equal(ready.status, 200);
  assert.equal(ready.body.checks.nodeId, 'ok');

  // Another daemon under node-r takes the id in the moment the daemon's lock connection is down.
  await other.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'storaged node lock:%'");
  const take = async () => (await other.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [NODE_LOCK_CLASS, 'node-r'])).rows[0]!.locked;
  await waitFor(take, 'the other session to take node-r', 2_000);
  // First the connection is down (also 503, saying so), then the daemon finds the id taken.
  let unready = await g.json('GET', '/ready', { as: 'admin' });
  await waitFor(async () => /another running/.test(String((unready = await g.json('GET', '/ready', { as: 'admin' })).body.checks.nodeId)), '/ready to name the id taken', 20_000);
  assert.equal(unready.status, 503);
  assert.match(unready.body.checks.nodeId, /another running storaged holds node id 'node-r'/);
  assert.equal(unready.body.checks.postgres, 'ok', 'the catalog itself answers');
  assert.ok(g.logs.some((l) => l.level === 50 && l.nodeId === 'node-r' && /another running storaged holds this daemon's node id/.test(String(l.msg))), 'an error in the log');

  await other.query('SELECT pg_advisory_unlock($1, hashtext($2))', [NODE_LOCK_CLASS, 'node-r']);
  await waitFor(async () => (await g.json('GET', '/ready')).status === 200, '/ready once the id is back', 20_000);
});
