import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Catalog } from '../../src/daemon/db/catalog';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, MigrationError } from '../../src/daemon/db/migrations';
import { openWriter, type Db } from '../../src/daemon/db/open-database';
import { silentLogger, TempDir } from './catalog-fixture';

function freshDb(t: TestContext): Db {
  const dir = new TempDir(t);
  const db = openWriter(path.join(dir.path, 'a.sqlite'));
  dir.closeLater(() => db.close());
  return db;
}

function migrationsDir(t: TestContext, files: Record<string, string>): string {
  const dir = path.join(new TempDir(t).path, 'migrations');
  fs.mkdirSync(dir);
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

test('the default migrations dir resolves from the compiled file to the package migrations/', () => {
  assert.ok(fs.existsSync(path.join(DEFAULT_MIGRATIONS_DIR, '001_initial.sql')), DEFAULT_MIGRATIONS_DIR);
});

test('migrations apply once, in order, and are recorded', (t) => {
  const db = freshDb(t);
  const dir = migrationsDir(t, {
    '001_first.sql': 'CREATE TABLE one (x INTEGER);',
    '002_second.sql': 'CREATE TABLE two (x INTEGER);',
    'README.md': 'not a migration',
  });

  assert.deepEqual(applyMigrations(db, dir), { applied: [1, 2], version: 2 });
  assert.deepEqual(applyMigrations(db, dir), { applied: [], version: 2 });
  const recorded = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
  assert.deepEqual(recorded, [
    { version: 1, name: 'first' },
    { version: 2, name: 'second' },
  ]);
});

test('a new migration file is applied on the next open, leaving earlier ones alone', (t) => {
  const db = freshDb(t);
  const dir = migrationsDir(t, { '001_first.sql': 'CREATE TABLE one (x INTEGER);' });
  applyMigrations(db, dir);
  fs.writeFileSync(path.join(dir, '002_second.sql'), 'ALTER TABLE one ADD COLUMN y TEXT;');
  assert.deepEqual(applyMigrations(db, dir), { applied: [2], version: 2 });
});

test('a database newer than the known migrations is refused, saying what to do', (t) => {
  const file = path.join(new TempDir(t).path, 'a.sqlite');
  const db = openWriter(file);
  const known = applyMigrations(db).version;
  const insert = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', '')");
  for (let v = known + 1; v <= known + 6; v++) insert.run(v);
  db.close();

  const expected = `database schema version ${known + 6} is newer than this storaged (knows up to ${known}); upgrade storaged or restore a matching backup`;
  assert.throws(() => Catalog.open({ path: file, logger: silentLogger }), { name: 'MigrationError', message: expected });
});

test('a gap in the migration files is an error', (t) => {
  const db = freshDb(t);
  const dir = migrationsDir(t, { '001_a.sql': 'SELECT 1;', '003_c.sql': 'SELECT 1;' });
  assert.throws(() => applyMigrations(db, dir), (err: Error) => err instanceof MigrationError && /migration 002 is missing/.test(err.message));
});

test('a badly named migration file is an error', (t) => {
  const db = freshDb(t);
  const dir = migrationsDir(t, { '001_a.sql': 'SELECT 1;', '2-b.sql': 'SELECT 1;' });
  assert.throws(() => applyMigrations(db, dir), /bad migration file name 2-b\.sql/);
});

test('a failing migration is rolled back whole and not recorded', (t) => {
  const db = freshDb(t);
  const dir = migrationsDir(t, {
    '001_a.sql': 'CREATE TABLE one (x INTEGER);',
    '002_b.sql': 'CREATE TABLE two (x INTEGER); INSERT INTO nowhere VALUES (1);',
  });
  assert.throws(() => applyMigrations(db, dir), /migration 002_b\.sql failed and was rolled back: no such table: nowhere/);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('one', 'two')").pluck().all();
  assert.deepEqual(tables, ['one']);
  assert.deepEqual(db.prepare('SELECT version FROM schema_migrations').pluck().all(), [1]);
});
