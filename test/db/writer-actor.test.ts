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

// RAISE(ROLLBACK) in a trigger rolls back the whole transaction, not just the
// op's savepoint, as SQLite does on some I/O errors: the ops of the batch that
// ran before the failing one are undone with it. They used to be rejected with
// the failing op's error (a trigger's SqliteError: INTERNAL, not retryable, to
// a caller who did nothing wrong); they are run again in a fresh batch.
test('an op that rolls back the whole transaction rejects alone; the batch\'s other ops are run again, and every one acknowledged is in the file', async (t) => {
  const { writer, db, count } = writerOn(t);
  db.exec(`CREATE TRIGGER poison BEFORE INSERT ON items WHEN NEW.name = 'poison'
    BEGIN SELECT RAISE(ROLLBACK, 'poisoned row'); END`);
  const names = ['a', 'b', 'c', 'poison', 'd', 'e'];
  const durable = (name: string) => name !== 'b';
  const settled = await Promise.allSettled(names.map((name) => writer.submit(insert(name), { durable: durable(name) })));

  const poisoned = settled[names.indexOf('poison')]!;
  assert.equal(poisoned.status, 'rejected');
  assert.match(String((poisoned as PromiseRejectedResult).reason), /poisoned row/);
  const inFile = new Set(db.prepare('SELECT name FROM items').pluck().all() as string[]);
  names.forEach((name, i) => {
    if (name === 'poison') return;
    const outcome = settled[i]!;
    assert.equal(outcome.status, 'fulfilled', `${name}: an innocent op is not failed for another's error (${outcome.status === 'rejected' ? String(outcome.reason) : ''})`);
    assert.ok(inFile.has(name), `${name}: acknowledged and in the file`);
  });
  assert.equal(inFile.has('poison'), false);
  assert.equal(writer.stats().largestBatch, names.length, 'all were submitted to one batch');
  assert.equal(writer.stats().failedWrites, 1);

  // The writer keeps serving, and the file is sound.
  assert.equal(await writer.submit(insert('later')), 1);
  assert.equal(count(), names.length);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
});

test('ops that each roll the whole transaction back, back to back, all reject alone and the innocent ones all land', async (t) => {
  const { writer, db } = writerOn(t);
  db.exec(`CREATE TRIGGER poison BEFORE INSERT ON items WHEN NEW.name LIKE 'poison%'
    BEGIN SELECT RAISE(ROLLBACK, 'poisoned row'); END`);
  const names = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? `poison-${i}` : `item-${i}`));
  const settled = await Promise.allSettled(names.map((name) => writer.submit(insert(name))));
  const inFile = new Set(db.prepare('SELECT name FROM items').pluck().all() as string[]);
  names.forEach((name, i) => {
    const outcome = settled[i]!;
    if (name.startsWith('poison')) {
      assert.equal(outcome.status, 'rejected', name);
      assert.match(String((outcome as PromiseRejectedResult).reason), /poisoned row/);
      assert.equal(inFile.has(name), false);
    } else {
      assert.equal(outcome.status, 'fulfilled', name);
      assert.ok(inFile.has(name), name);
    }
  });
  assert.equal(writer.stats().writes, names.length, 'each op settled once');
});
