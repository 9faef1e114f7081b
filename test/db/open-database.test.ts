import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { openReader, openWriter } from '../../src/daemon/db/open-database';
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
