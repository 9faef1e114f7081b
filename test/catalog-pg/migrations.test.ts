// PostgreSQL catalog migrations against a real server: the files apply, ten
// daemons starting at once migrate once, a newer or edited history is
// refused, a failing file is rolled back, and the PostgreSQL history keeps
// step with SQLite's.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { applyPgMigrations, DEFAULT_PG_MIGRATIONS_DIR, pgSchemaVersion } from '../../src/daemon/catalog-pg/migrations';
import { DEFAULT_MIGRATIONS_DIR, MigrationError, readMigrationFiles } from '../../src/daemon/db/migrations';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { tempDir } from '../support/temp-dir';

let server: PostgresHandle;
before(async () => {
  server = await startPostgres();
});
after(() => server.dispose());

async function pool(t: { after(fn: () => Promise<void>): void }, url?: string): Promise<pg.Pool> {
  const p = new pg.Pool({ connectionString: url ?? (await server.createDatabase()), max: 2 });
  // pg-pool can still hand an ended client's last message (the server shutting down) to this event; queries reject on their own.
  p.on('error', () => {});
  t.after(() => p.end());
  return p;
}

test('PostgreSQL migrations mirror SQLite: the same versions, in the same order', () => {
  const sqlite = readMigrationFiles(DEFAULT_MIGRATIONS_DIR).map((m) => `${m.version} ${m.name}`);
  const postgres = readMigrationFiles(DEFAULT_PG_MIGRATIONS_DIR).map((m) => `${m.version} ${m.name}`);
  assert.deepEqual(postgres, sqlite, 'a SQLite migration needs its PostgreSQL twin under migrations/postgres/ (and back)');
});

test('a fresh database gets every migration, the catalog tables and one catalog id; a second run does nothing', async (t) => {
  const db = await pool(t);
  const known = readMigrationFiles(DEFAULT_PG_MIGRATIONS_DIR).length;
  const first = await applyPgMigrations(db);
  assert.deepEqual(first, { applied: Array.from({ length: known }, (_, i) => i + 1), version: known });
  assert.deepEqual(await applyPgMigrations(db), { applied: [], version: known });
  assert.deepEqual(await pgSchemaVersion(db), { version: known, known });

  const tables = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
  assert.deepEqual(
    tables.rows.map((r) => r.tablename),
    ['catalog_identity', 'catalog_sessions', 'idempotency_keys', 'photo_words', 'photos', 'schema_migrations'],
  );
  const identity = await db.query<{ catalog_id: string; created_at: string }>('SELECT catalog_id, created_at FROM catalog_identity');
  assert.equal(identity.rows.length, 1);
  assert.match(identity.rows[0]!.catalog_id, /^[0-9a-f]{32}$/);
  assert.match(identity.rows[0]!.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const columns = await db.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'photos' AND column_name IN ('node_id', 'idempotency_key', 'search_words') ORDER BY 1",
  );
  assert.deepEqual(columns.rows.map((r) => r.column_name), ['idempotency_key', 'node_id', 'search_words']);
});

test('ten daemons migrating one database at once: one applies the migrations, nine find nothing to do', async (t) => {
  const url = await server.createDatabase();
  const pools = await Promise.all(Array.from({ length: 10 }, () => pool(t, url)));
  const outcomes = await Promise.all(pools.map((p) => applyPgMigrations(p)));
  const known = readMigrationFiles(DEFAULT_PG_MIGRATIONS_DIR).length;
  const appliers = outcomes.filter((o) => o.applied.length > 0);
  assert.equal(appliers.length, 1);
  assert.equal(appliers[0]!.applied.length, known);
  assert.ok(outcomes.every((o) => o.version === known));
  const recorded = await pools[0]!.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
  assert.equal(Number(recorded.rows[0]!.n), known);
  const ids = await pools[0]!.query<{ n: string }>('SELECT count(*) AS n FROM catalog_identity');
  assert.equal(ids.rows[0]!.n, '1');
});

test('a database newer than this storaged is refused, with what to do', async (t) => {
  const db = await pool(t);
  await applyPgMigrations(db);
  await db.query("INSERT INTO schema_migrations VALUES (99, 'from_the_future', '2030-01-01T00:00:00.000Z')");
  const refused = (err: unknown) =>
    err instanceof MigrationError && /schema version 99 is newer than this storaged/.test(err.message) && /upgrade storaged/.test(err.message);
  await assert.rejects(applyPgMigrations(db), refused);
  await assert.rejects(pgSchemaVersion(db), refused);
});

test('a history with a hole is refused rather than guessed at', async (t) => {
  const db = await pool(t);
  await applyPgMigrations(db);
  await db.query('DELETE FROM schema_migrations WHERE version = 2');
  await assert.rejects(applyPgMigrations(db), /not a gapless history/);
});

test('a failing migration is rolled back whole and the version stays where it was', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, '001_first.sql'), 'CREATE TABLE first_table (x int);');
  fs.writeFileSync(path.join(dir, '002_broken.sql'), 'CREATE TABLE half_done (x int);\nSELECT no_such_function();');
  const db = await pool(t);
  await assert.rejects(applyPgMigrations(db, dir), (err: unknown) => err instanceof MigrationError && /002_broken\.sql failed and was rolled back/.test(err.message));
  assert.equal((await pgSchemaVersion(db, dir)).version, 1);
  const tables = await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'half_done'");
  assert.equal(tables.rows.length, 0);
  // The lock was released on failure: a fixed file applies straight away.
  fs.writeFileSync(path.join(dir, '002_broken.sql'), 'CREATE TABLE half_done (x int);');
  assert.deepEqual(await applyPgMigrations(db, dir), { applied: [2], version: 2 });
});

test('the schema refuses what SQLite refuses: bad checksums, states, JSON', async (t) => {
  const db = await pool(t);
  await applyPgMigrations(db);
  const now = new Date().toISOString();
  const insert = (overrides: Record<string, unknown>) => {
    const row: Record<string, unknown> = {
      id: `p${Math.random()}`, client_id: 'c', original_filename: 'a.jpg', mime_type: 'image/jpeg', bucket: 'photos',
      s3_key: 'k', size: 1, checksum: 'a'.repeat(64), metadata: '{}', state: 'committed', state_changed_at: now,
      uploaded_at: now, created_at: now, updated_at: now, search_words: '', ...overrides,
    };
    const names = Object.keys(row);
    return db.query(`INSERT INTO photos (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
  };
  await insert({});
  await assert.rejects(insert({ checksum: 'A'.repeat(64) }), /photos_checksum_check/);
  await assert.rejects(insert({ state: 'gone' }), /photos_state_check/);
  await assert.rejects(insert({ metadata: '[]' }), /photos_metadata_check/);
  await assert.rejects(insert({ metadata: '{' }), /invalid input syntax for type json/);
  await assert.rejects(insert({ size: -1 }), /photos_size_check/);
  await assert.rejects(insert({ search_words: null }), /search_words/);
});
