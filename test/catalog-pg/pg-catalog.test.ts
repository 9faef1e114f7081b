// PostgresCatalog's own behaviour beside the contract suite: the pieces that
// exist because several daemons share one catalog (node-owned recovery rows,
// sweeps one at a time, getPhoto caches kept coherent by NOTIFY) and the
// writer's batching, on a real PostgreSQL server.

import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { createLogger } from '../../src/daemon/logger';
import { newRow } from '../db/catalog-fixture';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { waitFor } from '../support/wait-for';

const logger = createLogger('silent');
let server: PostgresHandle;

before(async () => {
  server = await startPostgres();
});
after(() => server.dispose());

/** Two daemons' catalogs on one fresh database. */
async function twoNodes(t: import('node:test').TestContext): Promise<[PostgresCatalog, PostgresCatalog]> {
  const url = await server.createDatabase();
  const a = await PostgresCatalog.open({ url, logger, nodeId: 'node-a' });
  const b = await PostgresCatalog.open({ url, logger, nodeId: 'node-b' });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return [a, b];
}

test('recovery lists a node its own young pending rows, and other nodes\' only past the timeout', async (t) => {
  const [a, b] = await twoNodes(t);
  const row = newRow();
  await a.insertPending(row);
  const past = new Date(Date.now() - 3_600_000).toISOString();
  const everything = { olderThan: new Date(Date.now() + 60_000).toISOString() };
  assert.deepEqual((await a.staleRows('pending', past, 10, everything)).map((r) => r.id), [row.id], 'its own, at once');
  assert.deepEqual(await b.staleRows('pending', past, 10, everything), [], "another node's, not while young");
  assert.deepEqual((await b.staleRows('pending', everything.olderThan, 10)).map((r) => r.id), [row.id], 'past the timeout, anyone');
});

test('a sweep runs on one daemon at a time: the other skips while the lock is held', async (t) => {
  const [a, b] = await twoNodes(t);
  let inner: string | undefined = 'not asked';
  const outer = await a.runAlone('sweep', async () => {
    inner = await b.runAlone('sweep', async () => 'ran');
    return 'ran';
  });
  assert.equal(outer, 'ran');
  assert.equal(inner, undefined, 'skipped while node-a sweeps');
  assert.equal(await b.runAlone('sweep', async () => 'ran'), 'ran', 'runs once the lock is free');
});

test('a recovered commit and a rollback race between two daemons: one wins, the other finds it settled', async (t) => {
  const [a, b] = await twoNodes(t);
  const row = newRow();
  await a.insertPending(row);
  assert.deepEqual(await Promise.all([a.commitRecovered(row.id), b.commitRecovered(row.id)]).then((r) => r.sort()), ['committed', 'settled']);
  const other = newRow();
  await a.insertPending(other);
  assert.deepEqual(await Promise.all([a.abandonPending(other.id), b.abandonPending(other.id)]).then((r) => r.sort()), [false, true]);
  assert.equal(await a.commitRecovered(other.id), 'settled');
});

test("a change committed through one daemon evicts the other's cached photo", async (t) => {
  const [a, b] = await twoNodes(t);
  const row = newRow();
  await a.insertPending(row);
  await a.commitPending(row.id);
  assert.equal((await b.getPhoto('client-a', row.id))?.processing_status, 'queued');
  assert.equal(b.photoNow('client-a', row.id)?.processing_status, 'queued', 'cached by node-b');
  assert.equal(b.photoNow('client-b', row.id), null, "another client's cached photo is not theirs");
  await a.updateMetadata('client-a', row.id, { processing_status: 'in_progress' });
  await waitFor(() => b.photoNow('client-a', row.id) === undefined, "node-a's NOTIFY to reach node-b", 10_000);
  assert.equal((await b.getPhoto('client-a', row.id))?.processing_status, 'in_progress');
  await a.markDeleting('client-a', row.id);
  await waitFor(() => b.photoNow('client-a', row.id) === undefined, 'the delete to reach node-b', 10_000);
  assert.equal(await b.getPhoto('client-a', row.id), null);
});

test('a delete sent again finds its row still deleting (same client only), until the row is gone', async (t) => {
  const [a, b] = await twoNodes(t);
  const row = newRow();
  await a.insertPending(row);
  await a.commitPending(row.id);
  const ref = { bucket: row.bucket, s3_key: row.s3_key };
  assert.deepEqual(await a.markDeleting('client-a', row.id), ref);
  assert.deepEqual(await b.markDeleting('client-a', row.id), ref, 'from any daemon');
  await assert.rejects(a.markDeleting('client-b', row.id), { code: 'NOT_FOUND' });
  assert.deepEqual(await a.countByState(), { pending: 0, committed: 0, deleting: 1 });
  await a.deleteRow(row.id);
  await assert.rejects(b.markDeleting('client-a', row.id), { code: 'NOT_FOUND' });
});

test('writes submitted together share transactions, and a failing one rejects alone', async (t) => {
  const [a] = await twoNodes(t);
  const rows = Array.from({ length: 40 }, () => newRow());
  const before = a.writerStats().transactions;
  await Promise.all(rows.map((row) => a.insertPending(row)));
  const results = await Promise.allSettled([...rows.map((row) => a.commitPending(row.id)), a.commitPending(rows[0]!.id)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 40);
  const failed = results.filter((r) => r.status === 'rejected');
  assert.equal(failed.length, 1, 'the second commit of one row fails, the other 40 stand');
  assert.equal((failed[0] as PromiseRejectedResult).reason.code, 'NOT_FOUND');
  assert.ok(a.writerStats().transactions - before < 81, `81 writes in ${a.writerStats().transactions - before} transactions`);
  assert.equal((await a.countByState()).committed, 40);
});

test('bucketTotals counts committed photos and their bytes per bucket, every client\'s, as SQLite does', async (t) => {
  const [a] = await twoNodes(t);
  const rows = [newRow({ size: 1000 }), newRow({ size: 2500, client_id: 'client-b' }), newRow({ bucket: 'videos', size: 7 }), newRow({ size: 99 })];
  for (const row of rows) await a.insertPending(row);
  for (const row of rows.slice(0, 3)) await a.commitPending(row.id);
  // The fourth stays pending: not counted.
  assert.deepEqual(await a.bucketTotals(), [
    { bucket: 'images', photos: 2, bytes: 3500 },
    { bucket: 'videos', photos: 1, bytes: 7 },
  ]);
});

test("rows are aged on the database's clock: hosts' clocks minutes apart neither take a store in progress for abandoned nor a dead node's row for young", async (t) => {
  const url = await server.createDatabase();
  const minutes = (n: number) => n * 60_000;
  // node-a's clock runs ten minutes ahead, node-b's ten behind; the pending timeout is five minutes.
  const a = await PostgresCatalog.open({ url, logger, nodeId: 'node-a', clock: () => Date.now() + minutes(10) });
  const b = await PostgresCatalog.open({ url, logger, nodeId: 'node-b', clock: () => Date.now() - minutes(10) });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const timedOut = (c: PostgresCatalog, clock: number) => c.staleRows('pending', new Date(clock - minutes(5)).toISOString(), 10);

  const young = newRow();
  await b.insertPending(young);
  assert.deepEqual(await timedOut(a, Date.now() + minutes(10)), [], "node-b's store of a moment ago is not node-a's to roll back");

  const old = newRow();
  await a.insertPending(old);
  // node-a went silent six minutes ago (by the database's clock).
  await a.pool.query("UPDATE photos SET state_changed_at = to_char((clock_timestamp() - interval '6 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') WHERE id = $1", [old.id]);
  assert.deepEqual((await timedOut(b, Date.now() - minutes(10))).map((r) => r.id), [old.id], "node-a's abandoned row is past the timeout for node-b");
  assert.equal(await b.countStaleRows('pending', new Date(Date.now() - minutes(15)).toISOString()), 1);

  // A delete marked through the host whose clock is behind is aged on the database's clock too.
  await a.commitPending(young.id);
  await b.markDeleting(young.client_id, young.id);
  assert.deepEqual(await a.staleRows('deleting', new Date(Date.now() + minutes(10) - 60_000).toISOString(), 10), [], 'a delete of a moment ago is not stalled');
});

test('reads and writes right after the server ended every connection (a restart, a failover) are answered from fresh connections, not refused', async (t) => {
  const [a, b] = await twoNodes(t);
  const rows = Array.from({ length: 8 }, () => newRow());
  for (const r of rows) {
    await a.insertPending(r);
    await a.commitPending(r.id);
  }
  // node-b's pool holds idle connections, each of which the server is about to end.
  await Promise.all(rows.map((r) => b.hasPhotoIn(r.bucket, r.id)));
  for (let round = 0; round < 5; round++) {
    const { rows: cut } = await a.pool.query<{ n: number }>(
      `WITH cut AS (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid())
       SELECT count(*)::int AS n FROM cut`,
    );
    assert.ok(cut[0]!.n >= 2, 'node-b\'s connections cut');
    // At once, before node-b's pool has heard of it: a read is idempotent, so a dead connection is worth one more try.
    const found = await Promise.all(rows.map((r) => b.hasPhotoIn(r.bucket, r.id)));
    assert.deepEqual(found, rows.map(() => true), `round ${round}`);
    assert.equal((await b.getPhoto('client-a', rows[round]!.id))?.id, rows[round]!.id);
  }
  // A search reads on a connection of its own: the same holds for it.
  await a.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const searches = await Promise.all(rows.map(() => b.search('client-a', {})));
  assert.deepEqual(searches.map((r) => r.total), rows.map(() => rows.length));
  // Writes too: a batch that finds its connection ended fails at BEGIN, before anything ran, and takes another.
  await a.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const more = Array.from({ length: 4 }, () => newRow());
  await Promise.all(more.map((r) => b.insertPending(r).then(() => b.commitPending(r.id))));
  assert.equal((await b.search('client-a', {})).total, rows.length + more.length);
});

test('a change whose notification a daemon missed (its connection was cut) is never served from that daemon\'s cache', async (t) => {
  const [a, b] = await twoNodes(t);
  const row = newRow();
  const probe = newRow();
  for (const r of [row, probe]) {
    await a.insertPending(r);
    await a.commitPending(r.id);
  }
  await b.getPhoto('client-a', row.id);
  assert.equal(b.photoNow('client-a', row.id)?.processing_status, 'queued', 'cached by node-b');

  // Every daemon connection is cut, and a change lands that nobody is told about: node-b cannot know it was missed.
  const { rows } = await a.pool.query<{ n: number }>(
    `WITH cut AS (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid())
     SELECT count(*)::int AS n FROM cut`,
  );
  assert.ok(rows[0]!.n >= 2, 'both listeners cut');
  await a.pool.query("UPDATE photos SET processing_status = 'in_progress' WHERE id = $1", [row.id]);

  await waitFor(() => b.photoNow('client-a', row.id) === undefined, 'node-b to find its listener gone', 10_000);
  // Listening again (another photo read is cached), it started empty: the missed change is read afresh, not served stale.
  await waitFor(async () => (await b.getPhoto('client-a', probe.id)) !== null && b.photoNow('client-a', probe.id) !== undefined, 'node-b caching again', 10_000);
  assert.equal(b.photoNow('client-a', row.id), undefined, 'the entry from before the cut is gone');
  assert.equal((await b.getPhoto('client-a', row.id))?.processing_status, 'in_progress');
});
