// The session the node lock and the photo cache's listener keep outside the
// pool (kept-session.ts), on a real PostgreSQL server: a backend ended from
// another connection is noticed and a new session readied; a server that is
// down is retried with a back-off that doubles up to the cap; a frozen server
// is found by the heartbeat; start() refuses without retrying; close() ends
// it for good.

import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { KeptSession, type KeptSessionOptions } from '../../src/daemon/catalog-pg/kept-session';
import { createLogger } from '../../src/daemon/logger';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { waitFor } from '../support/wait-for';

interface Watched {
  session: KeptSession;
  /** Each ready: the backend's pid and whether it was the first. */
  readied: Array<{ pid: number; first: boolean; keepalivesIdle: string }>;
  lost: Array<{ message: string | undefined; retryInMs: number }>;
  /** The retryInMs of every quiet retry that could not connect (from the debug log). */
  quietRetries: number[];
}

function watched(t: TestContext, url: string, name: string, extra: Partial<KeptSessionOptions> = {}): Watched {
  const readied: Watched['readied'] = [];
  const lost: Watched['lost'] = [];
  const quietRetries: number[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as { msg: string; retryInMs: number; session: string };
        if (entry.msg === 'a kept catalog session could not be opened again yet' && entry.session === name) quietRetries.push(entry.retryInMs);
      }
      done();
    },
  });
  const session = new KeptSession({
    // Far above any answer of a loaded test machine: only a frozen server runs into them.
    config: { connectionString: url, query_timeout: 5_000, connectionTimeoutMillis: 5_000 },
    name,
    maxRetryMs: 1_000,
    logger: createLogger('debug', sink),
    ready: async (client, first) => {
      const { rows } = await client.query<{ pid: number; idle: string }>("SELECT pg_backend_pid() AS pid, current_setting('tcp_keepalives_idle') AS idle");
      readied.push({ pid: rows[0]!.pid, first, keepalivesIdle: rows[0]!.idle });
    },
    lost: (err, retryInMs) => lost.push({ message: err?.message, retryInMs }),
    ...extra,
  });
  t.after(() => session.close());
  return { session, readied, lost, quietRetries };
}

async function connect(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // The server may be stopped before this is ended (cleanups run last registered first).
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.end());
  return client;
}

async function backendsNamed(client: pg.Client, name: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name]);
  return rows.map((r) => r.pid);
}

test('a backend ended from another connection: the loss is reported once and a new session is readied on a new backend', { timeout: 60_000 }, async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const w = watched(t, url, 'kept-session test');
  await w.session.start();
  assert.equal(w.session.kept, true);
  assert.equal(w.readied.length, 1);
  assert.equal(w.readied[0]!.first, true);

  const other = await connect(t, url);
  assert.deepEqual(await backendsNamed(other, 'kept-session test'), [w.readied[0]!.pid], 'one session, under its name');
  // The keepalives that free a vanished host's session (its lock) within seconds are set before ready.
  assert.equal(w.readied[0]!.keepalivesIdle, '15');

  for (let round = 1; round <= 3; round++) {
    await other.query('SELECT pg_terminate_backend($1)', [w.readied.at(-1)!.pid]);
    await waitFor(() => w.readied.length === round + 1, `ready again (round ${round})`, 20_000);
    assert.equal(w.readied.at(-1)!.first, false);
    assert.notEqual(w.readied.at(-1)!.pid, w.readied.at(-2)!.pid, 'a new backend');
    assert.equal(w.lost.length, round);
    // Each loss waits the least: the back-off starts over once a session is kept again.
    assert.equal(w.lost.at(-1)!.retryInMs, 250);
    assert.match(String(w.lost.at(-1)!.message), /terminat/);
    await waitFor(() => w.session.kept, 'kept', 5_000);
    assert.deepEqual(await backendsNamed(other, 'kept-session test'), [w.readied.at(-1)!.pid]);
  }
  assert.deepEqual(w.quietRetries, [], 'every first retry connected');
});

test('a server that is down: retried quietly with a back-off doubling up to the cap, then kept again once it is back', { timeout: 120_000 }, async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const w = watched(t, url, 'kept-session down');
  await w.session.start();
  await server.stop();
  await waitFor(() => w.quietRetries.length >= 4, 'four failed retries', 30_000);
  assert.equal(w.session.kept, false);
  assert.equal(w.lost.length, 1, 'the loss is reported once, not at every failed retry');
  assert.equal(w.lost[0]!.retryInMs, 250);
  // Each failure says when the next attempt comes: 250 ms doubled at each, capped at 1 s.
  assert.deepEqual(w.quietRetries.slice(0, 4), [500, 1000, 1000, 1000]);

  await server.restart();
  await waitFor(() => w.session.kept, 'kept once the server is back', 30_000);
  assert.equal(w.readied.length, 2);
  assert.equal(w.readied[1]!.first, false);
  const other = await connect(t, url);
  await other.query('SELECT pg_terminate_backend($1)', [w.readied[1]!.pid]);
  await waitFor(() => w.lost.length === 2, 'the next loss', 10_000);
  assert.equal(w.lost[1]!.retryInMs, 250, 'the back-off started over');
});

test('a frozen server (no reset, no answer) is found by the heartbeat', { timeout: 60_000 }, async (t) => {
  const server: PostgresHandle = await startPostgres(t);
  const url = await server.createDatabase();
  const w = watched(t, url, 'kept-session frozen');
  await w.session.start();
  server.freeze();
  t.after(() => server.thaw());
  await waitFor(() => w.lost.length === 1, 'the heartbeat to time out', 20_000);
  assert.equal(w.session.kept, false);
  assert.match(String(w.lost[0]!.message), /timeout/i);
  server.thaw();
  await waitFor(() => w.session.kept, 'kept once the server answers again', 30_000);
});

test('ready failing on a retry counts as a loss (what it set up is gone) and is retried; start() refusing is not retried', { timeout: 60_000 }, async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  let refuse = 0;
  let attempts = 0;
  const w = watched(t, url, 'kept-session refusing', {
    ready: async (client, first) => {
      attempts++;
      await client.query('SELECT 1');
      if (!first && refuse > 0) {
        refuse--;
        throw new Error('not ready yet');
      }
    },
  });
  await w.session.start();
  const other = await connect(t, url);
  refuse = 2;
  await other.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kept-session refusing'");
  // (Not kept alone: right after the terminate, the session has not heard of it yet.)
  await waitFor(() => attempts === 4 && w.session.kept, 'kept after two refusals', 20_000);
  assert.deepEqual(
    w.lost.map((l) => [l.message?.includes('not ready yet') ?? false, l.retryInMs]),
    [[false, 250], [true, 500], [true, 1000]],
  );
  assert.equal(attempts, 4);

  // start(): the refusal is the caller's, and nothing is tried again.
  let tries = 0;
  const refused = new KeptSession({
    config: { connectionString: url },
    name: 'kept-session refused',
    maxRetryMs: 1_000,
    logger: createLogger('silent'),
    ready: async () => {
      tries++;
      throw new Error('refused');
    },
    lost: () => assert.fail('lost is not called for start()'),
  });
  await assert.rejects(refused.start(), /refused/);
  assert.equal(refused.kept, false);
  // Long enough for several retries, had any been scheduled.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(tries, 1);
  await waitFor(async () => (await backendsNamed(other, 'kept-session refused')).length === 0, 'its connection ended', 10_000);
});

test('close(): the session ends and is not opened again', { timeout: 30_000 }, async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const w = watched(t, url, 'kept-session closed');
  await w.session.start();
  const other = await connect(t, url);
  await w.session.close();
  assert.equal(w.session.kept, false);
  await waitFor(async () => (await backendsNamed(other, 'kept-session closed')).length === 0, 'its backend gone', 10_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(w.readied.length, 1, 'not readied again');
  assert.deepEqual(w.lost, [], 'a close is not a loss');
});
