import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Catalog } from '../../src/daemon/db/catalog';
import { openReader, openWriter, setAsideOrphanedWal } from '../../src/daemon/db/open-database';
import { TempDir } from './catalog-fixture';

test('the database file is created 0600 in a 0700 directory', (t) => {
  const temp = new TempDir(t);
  const dir = path.join(temp.path, 'nested', 'state');
  const file = path.join(dir, 'catalog.sqlite');
  const db = openWriter(file);
  temp.closeLater(() => db.close());
  db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');

  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(`${file}-wal`).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('the writer runs WAL with full syncs and foreign keys on', (t) => {
  const temp = new TempDir(t);
  const db = openWriter(path.join(temp.path, 'catalog.sqlite'));
  temp.closeLater(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2);
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
});

test('the reader sees committed writes and cannot write', (t) => {
  const temp = new TempDir(t);
  const file = path.join(temp.path, 'catalog.sqlite');
  const writer = openWriter(file);
  const reader = openReader(file);
  temp.closeLater(() => writer.close());
  temp.closeLater(() => reader.close());
  writer.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42);');
  assert.equal(reader.prepare('SELECT x FROM t').pluck().get(), 42);
  assert.throws(() => reader.exec('INSERT INTO t VALUES (1)'), /readonly/);
});

test('a catalog opened where only a lost database\'s WAL is left starts empty, with that WAL kept aside, not replayed', async (t) => {
  const temp = new TempDir(t);
  // Another database's WAL, as when storage.db alone was removed or lost.
  const other = path.join(temp.path, 'other.db');
  const db = new Database(other);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE not_a_catalog_table (x); INSERT INTO not_a_catalog_table VALUES (1)');
  const file = path.join(temp.path, 'storage.db');
  fs.copyFileSync(`${other}-wal`, `${file}-wal`);
  const walBytes = fs.readFileSync(`${file}-wal`);
  db.close();

  const warnings: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
  const catalog = Catalog.open({ path: file, logger });
  try {
    const opened = new Database(file, { readonly: true });
    const tables = opened.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    opened.close();
    assert.ok(!tables.includes('not_a_catalog_table'), `the lost database's WAL was replayed: ${tables.join(', ')}`);
    assert.ok(tables.includes('photos'), 'a new catalog');
  } finally {
    await catalog.close();
  }
  const aside = fs.readdirSync(temp.path).filter((f) => f.startsWith('storage.db.orphaned-wal-') && f.endsWith('-wal'));
  assert.equal(aside.length, 1, 'the WAL is kept aside');
  assert.deepEqual(fs.readFileSync(path.join(temp.path, aside[0]!)), walBytes, 'unchanged');
  const warning = warnings.find((w) => String(w.msg).includes('its WAL was left'));
  assert.ok(warning, 'the start says so');
  assert.equal(`${String(warning.movedAside)}-wal`, path.join(temp.path, aside[0]!));
});

test('an existing database keeps its WAL: nothing is set aside', (t) => {
  const temp = new TempDir(t);
  const file = path.join(temp.path, 'storage.db');
  const db = openWriter(file);
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  assert.equal(setAsideOrphanedWal(file), null);
  assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 1);
  db.close();
});
