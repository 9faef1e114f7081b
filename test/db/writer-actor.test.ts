import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ClosedError } from '../../src/protocol/errors';
import { openWriter, type Db } from '../../src/daemon/db/open-database';
import { WriterActor } from '../../src/daemon/db/writer-actor';
import { TempDir } from './catalog-fixture';

function writerOn(t: TestContext, maxBatch?: number): { writer: WriterActor; db: Db; count: () => number } {
  const dir = new TempDir(t);
  const db = openWriter(path.join(dir.path, 'w.sqlite'));
  db.exec(`CREATE TABLE items (name TEXT PRIMARY KEY);
    CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE children (parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED);`);
  const writer = new WriterActor(db, maxBatch === undefined ? {} : { maxBatch });
  dir.closeLater(() => writer.close());
  return { writer, db, count: () => db.prepare('SELECT count(*) FROM items').pluck().get() as number };
}

const insert = (name: string) => (db: Db) => db.prepare('INSERT INTO items (name) VALUES (?)').run(name).changes;

test('200 concurrent writes share a few transactions and all resolve', async (t) => {
  const { writer, count } = writerOn(t);
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => writer.submit(insert(`item-${i}`))));

  assert.deepEqual(results, Array(200).fill(1));
  assert.equal(count(), 200);
  const stats = writer.stats();
  assert.equal(stats.writes, 200);
  assert.equal(stats.failedWrites, 0);
  assert.ok(stats.transactions <= 5, `expected a few transactions, got ${stats.transactions}`);
  assert.equal(stats.largestBatch, 200);
});

test('batches never exceed maxBatch', async (t) => {
  const { writer } = writerOn(t, 50);
  await Promise.all(Array.from({ length: 200 }, (_, i) => writer.submit(insert(`item-${i}`))));
  assert.deepEqual(writer.stats(), { transactions: 4, writes: 200, failedWrites: 0, largestBatch: 50, syncedTransactions: 4, queueDepth: 0 });
});

test('a failing op is undone alone and rejects only its caller', async (t) => {
  const { writer, db, count } = writerOn(t);
  const before = writer.submit(insert('before'));
  const failing = writer.submit((conn) => {
    conn.prepare('INSERT INTO items (name) VALUES (?)').run('half-done');
    throw new Error('op failed after writing');
  });
  const duplicate = writer.submit(insert('before'));
  const after = writer.submit(insert('after'));

  assert.equal(await before, 1);
  await assert.rejects(failing, /op failed after writing/);
  await assert.rejects(duplicate, /UNIQUE constraint failed/);
  assert.equal(await after, 1);
  assert.equal(count(), 2);
  assert.deepEqual(db.prepare('SELECT name FROM items ORDER BY name').pluck().all(), ['after', 'before']);
  assert.equal(writer.stats().transactions, 1);
  assert.equal(writer.stats().failedWrites, 2);
});

test('an op that returns a promise is refused', async (t) => {
  const { writer, count } = writerOn(t);
  const asyncOp = writer.submit(async (conn) => insert('inside-async')(conn));
  await assert.rejects(asyncOp, /ops must be synchronous/);
  assert.equal(count(), 0);
});

test('when COMMIT fails every op of the batch is rejected and nothing is kept', async (t) => {
  const { writer, count } = writerOn(t);
  const fine = writer.submit(insert('fine'));
  // A deferred foreign key is only checked at COMMIT, so this op succeeds but sinks the commit.
  const orphan = writer.submit((conn) => conn.prepare('INSERT INTO children (parent) VALUES (99)').run().changes);

  await assert.rejects(fine, /FOREIGN KEY constraint failed/);
  await assert.rejects(orphan, /FOREIGN KEY constraint failed/);
  assert.equal(count(), 0);
  // The writer is usable afterwards.
  assert.equal(await writer.submit(insert('later')), 1);
});

test('close finishes submitted work, then refuses new work with ClosedError', async (t) => {
  const { writer } = writerOn(t);
  const pending = Array.from({ length: 10 }, (_, i) => writer.submit(insert(`item-${i}`)));
  await writer.close();
  assert.deepEqual(await Promise.all(pending), Array(10).fill(1));
  await assert.rejects(writer.submit(insert('late')), ClosedError);
});

test('a batch is fsynced only when one of its ops must be durable', async (t) => {
  const { writer, db, count } = writerOn(t);
  const synchronous = () => db.pragma('synchronous', { simple: true });

  await Promise.all(Array.from({ length: 10 }, (_, i) => writer.submit(insert(`loose-${i}`), { durable: false })));
  assert.equal(writer.stats().syncedTransactions, 0);
  assert.equal(synchronous(), 1, 'NORMAL: committed without an fsync');

  await Promise.all([
    ...Array.from({ length: 5 }, (_, i) => writer.submit(insert(`more-${i}`), { durable: false })),
    writer.submit(insert('acknowledged')),
  ]);
  assert.deepEqual({ transactions: writer.stats().transactions, synced: writer.stats().syncedTransactions }, { transactions: 2, synced: 1 });
  assert.equal(synchronous(), 2, 'FULL: the commit fsynced the WAL, and with it every earlier frame');
  assert.equal(count(), 16);
});
