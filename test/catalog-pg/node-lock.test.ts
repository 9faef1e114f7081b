// A daemon on a shared catalog holds its node id (node-lock.ts): a second one
// under the same id is refused before it can settle the first one's stores
// in progress as its own; the hold survives a PostgreSQL restart; and while
// another session holds the id, the daemon says so and treats the id's young
// rows as anyone's, on a real PostgreSQL server.

import * as assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { NODE_LOCK_CLASS, NodeIdInUseError } from '../../src/daemon/catalog-pg/node-lock';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { createLogger } from '../../src/daemon/logger';
import { newRow } from '../db/catalog-fixture';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { waitFor } from '../support/wait-for';

const silent = createLogger('silent');
let server: PostgresHandle;

before(async () => {
  server = await startPostgres();
});
after(() => server.dispose());

async function open(t: TestContext, url: string, nodeId: string, logger = silent): Promise<PostgresCatalog> {
  const catalog = await PostgresCatalog.open({ url, logger, nodeId });
  t.after(() => catalog.close());
  return catalog;
}

/** A connection of the test's own, ended with the test. */
async function connect(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  return client;
}

function capturedLogs(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

test('a second catalog under a node id another holds is refused, naming the id; other ids open; a closed one frees its id', async (t) => {
  const url = await server.createDatabase();
  const a = await open(t, url, 'node-a');
  const row = newRow();
  await a.insertPending(row);

  await assert.rejects(PostgresCatalog.open({ url, logger: silent, nodeId: 'node-a' }), (err: unknown) => {
    assert.ok(err instanceof NodeIdInUseError);
    assert.equal(err.code, 'NODE_ID_IN_USE');
    assert.equal(err.variable, 'STORAGED_NODE_ID');
    assert.match(err.message, /node id 'node-a' is in use by another running storaged/);
    assert.match(err.message, /Set STORAGED_NODE_ID apart/);
    // Which daemon holds it, as its lock session tells pg_stat_activity: this process, over TCP from loopback.
    const holder = `'storaged node lock: pid ${process.pid} on ${hostname()}, node node-a'`.slice(0, 64);
    assert.ok(err.message.includes(`held by ${holder}`), err.message);
    assert.match(err.message, / from 127\.0\.0\.1, connected since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    assert.ok(err.holder?.includes(`pid ${process.pid}`));
    return true;
  });
  const query = await connect(t, url);
  assert.deepEqual((await query.query("SELECT state FROM photos WHERE id = $1", [row.id])).rows, [{ state: 'pending' }], 'the holder\'s row untouched');

  const b = await open(t, url, 'node-b');
  assert.equal(b.holdsNodeId, true);
  await a.close();
  const again = await open(t, url, 'node-a');
  assert.equal(again.holdsNodeId, true, 'the id is free once its holder closed');
});

test('the node id, lost to a PostgreSQL restart, is taken again once the server is back', { timeout: 120_000 }, async (t) => {
  const own = await startPostgres(t);
  const url = await own.createDatabase();
  const a = await open(t, url, 'node-a');
  assert.equal(a.holdsNodeId, true);
  await own.stop();
  await waitFor(() => !a.holdsNodeId, 'node-a to find its lock connection gone', 10_000);
  await assert.rejects(a.checkNodeId(), /the connection holding node id 'node-a' is down/);
  await own.restart();
  await waitFor(() => a.holdsNodeId, 'node-a to hold its id again', 30_000);
  await a.checkNodeId();
  // Held on the server, not only in the daemon's own account of it.
  await assert.rejects(PostgresCatalog.open({ url, logger: silent, nodeId: 'node-a' }), NodeIdInUseError);
});

test('while another session holds its id, a daemon says so and leaves the id\'s young rows to the timeout; then takes it back', { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  const { logger, lines } = capturedLogs();
  const a = await open(t, url, 'node-a', logger);
  const row = newRow();
  await a.insertPending(row);
  const past = new Date(Date.now() - 3_600_000).toISOString();
  const ownAtOnce = { olderThan: new Date(Date.now() + 60_000).toISOString() };
  assert.deepEqual((await a.staleRows('pending', past, 10, ownAtOnce)).map((r) => r.id), [row.id], 'held: its own rows at once');

  // Another daemon under the same id, as one started while node-a's connection was down: its lock
  // connection is ended and the other session takes the id before node-a reconnects (250 ms later).
  const other = await connect(t, url);
  await other.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'storaged node lock:%'");
  const take = async () => (await other.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [NODE_LOCK_CLASS, 'node-a'])).rows[0]!.locked;
  await waitFor(take, 'the other session to take node-a', 2_000);

  await waitFor(() => lines.some((l) => l.level === 50 && /another running storaged holds this daemon's node id/.test(String(l.msg))), 'the error in the log', 20_000);
  const { rows: otherPid } = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  assert.match(String(lines.find((l) => l.level === 50)!.holder), new RegExp(`^a session with no application name \\(PostgreSQL backend ${otherPid[0]!.pid}\\) from 127\\.0\\.0\\.1`), 'the log names the holder');
  assert.equal(a.holdsNodeId, false);
  await assert.rejects(a.checkNodeId(), { code: 'UNAVAILABLE', message: /another running storaged holds node id 'node-a'/ });
  assert.deepEqual(await a.staleRows('pending', past, 10, ownAtOnce), [], "not held: the id's young row may be the other's store in progress");
  const future = new Date(Date.now() + 60_000).toISOString();
  assert.deepEqual((await a.staleRows('pending', future, 10, ownAtOnce)).map((r) => r.id), [row.id], 'past the timeout it is anyone\'s');

  await other.query('SELECT pg_advisory_unlock($1, hashtext($2))', [NODE_LOCK_CLASS, 'node-a']);
  await waitFor(() => a.holdsNodeId, 'node-a to take its id back', 20_000);
  assert.deepEqual((await a.staleRows('pending', past, 10, ownAtOnce)).map((r) => r.id), [row.id]);
  assert.ok(lines.some((l) => l.msg === "holding this daemon's node id again"));
});

// (node-p's hashtext is negative, node-a's positive: the lock's oid key is matched both ways.)
test('an id held by a session that is not a storaged lock session: the refusal says whose it is as far as PostgreSQL shows', async (t) => {
  const url = await server.createDatabase();
  const other = new pg.Client({ connectionString: url, application_name: 'psql' });
  await other.connect();
  t.after(() => other.end());
  const { rows } = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_advisory_lock($1, hashtext($2))', [NODE_LOCK_CLASS, 'node-p']);
  await assert.rejects(PostgresCatalog.open({ url, logger: silent, nodeId: 'node-p' }), (err: unknown) => {
    assert.ok(err instanceof NodeIdInUseError);
    assert.ok(err.message.includes(`held by 'psql' (PostgreSQL backend ${rows[0]!.pid}) from 127.0.0.1`), err.message);
    return true;
  });
});
