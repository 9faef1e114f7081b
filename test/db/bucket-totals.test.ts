// The per-bucket totals that /metrics and `storagectl stats` read come from
// counters kept by triggers (migration 005), not from grouping the photos
// table at each scrape. Held here to the GROUP BY they replace, through every
// way a row enters, changes state or size, and leaves, and on a file upgraded
// from before the counters existed.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/daemon/db/catalog';
import { catalogAtVersion, newRow, openTestCatalog, silentLogger, TempDir } from './catalog-fixture';

type Totals = Array<{ bucket: string; photos: number; bytes: number }>;

function groupedTotals(raw: Database.Database): Totals {
  return raw
    .prepare("SELECT bucket, count(*) AS photos, coalesce(sum(size), 0) AS bytes FROM photos WHERE state = 'committed' GROUP BY bucket ORDER BY bucket")
    .all() as Totals;
}

/** A small deterministic generator: the same sequence of operations on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('the totals count committed photos and their bytes per bucket, every client\'s, through inserts, commits with a final size, deletes, discards, adoption and forgetting', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  // First a case worked out by hand, so the GROUP BY the walk compares with is itself held to
  // figures (the same ones pg-catalog.test.ts holds PostgreSQL to): two clients' photos add up
  // in one bucket, a pending row is not counted, and buckets with no photo are left out.
  const worked = [newRow({ size: 1000 }), newRow({ size: 2500, client_id: 'client-b' }), newRow({ bucket: 'videos', size: 7 }), newRow({ size: 99 })];
  for (const row of worked) await catalog.insertPending(row);
  for (const row of worked.slice(0, 3)) await catalog.commitPending(row.id);
  const expected = [
    { bucket: 'images', photos: 2, bytes: 3500 },
    { bucket: 'videos', photos: 1, bytes: 7 },
  ];
  assert.deepEqual(await catalog.bucketTotals(), expected);
  assert.deepEqual(groupedTotals(raw()), expected);

  // Then a walk through every way a row enters, changes state or size, and leaves.
  const random = lcg(20261204);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const buckets = ['images', 'images-large', 'videos', 'files'];
  const pending: string[] = [worked[3]!.id];
  const committed: Array<{ id: string; client: string }> = worked.slice(0, 3).map((r) => ({ id: r.id, client: r.client_id }));
  const deleting: string[] = [];
  let checks = 0;
  for (let step = 0; step < 400; step++) {
    const op = random();
    if (op < 0.3 || committed.length + pending.length === 0) {
      const row = newRow({ bucket: pick(buckets), size: Math.floor(random() * 10_000), client_id: pick(['client-a', 'client-b']) });
      await catalog.insertPending(row);
      pending.push(row.id);
    } else if (op < 0.5 && pending.length > 0) {
      const id = pending.splice(Math.floor(random() * pending.length), 1)[0]!;
      // A streamed store learns its size at the end: the committed size is not the pending one.
      const final = random() < 0.5 ? { size: Math.floor(random() * 50_000), checksum: 'a'.repeat(64) } : undefined;
      const photo = await catalog.commitPending(id, final);
      committed.push({ id, client: photo.client_id });
    } else if (op < 0.6 && pending.length > 0) {
      await catalog.discardPending(pending.splice(Math.floor(random() * pending.length), 1)[0]!);
    } else if (op < 0.75 && committed.length > 0) {
      const { id, client } = committed.splice(Math.floor(random() * committed.length), 1)[0]!;
      await catalog.markDeleting(client, id);
      deleting.push(id);
    } else if (op < 0.85 && deleting.length > 0) {
      await catalog.deleteRow(deleting.splice(Math.floor(random() * deleting.length), 1)[0]!);
    } else if (op < 0.93) {
      // Adoption (restore, rebuild) inserts rows already committed.
      const row = newRow({ bucket: pick(buckets), size: Math.floor(random() * 10_000) });
      const { metadata: _metadata, ...adopted } = row;
      assert.equal(await catalog.adoptRows([{ ...adopted, uploaded_at: new Date().toISOString() }]), 1);
      committed.push({ id: row.id, client: row.client_id });
    } else if (committed.length > 0) {
      // Forgetting drops a row whatever its state.
      await catalog.forgetRows([committed.splice(Math.floor(random() * committed.length), 1)[0]!.id]);
    }
    if (step % 20 === 19) {
      assert.deepEqual(await catalog.bucketTotals(), groupedTotals(raw()), `after step ${step}`);
      checks++;
    }
  }
  // A bucket emptied out is not reported as zero photos.
  assert.ok(checks >= 20);
  assert.ok((await catalog.bucketTotals()).every((b) => b.photos > 0));
});

test('a catalog from before the counters is counted once, on the upgrade', async (t) => {
  const dir = new TempDir(t);
  const old = catalogAtVersion(dir, 4);
  old.insert(newRow({ bucket: 'images', size: 10 }), 'committed');
  old.insert(newRow({ bucket: 'images', size: 32 }), 'committed');
  old.insert(newRow({ bucket: 'videos', size: 5 }), 'committed');
  old.insert(newRow({ bucket: 'videos', size: 1000 }), 'pending');
  old.insert(newRow({ bucket: 'files', size: 7 }), 'deleting');
  old.db.close();

  const catalog = Catalog.open({ path: old.file, logger: silentLogger });
  dir.closeLater(() => catalog.close());
  assert.deepEqual(await catalog.bucketTotals(), [
    { bucket: 'images', photos: 2, bytes: 42 },
    { bucket: 'videos', photos: 1, bytes: 5 },
  ]);
});

test('the counters refuse to go negative, so a trigger that missed a change cannot hide it', (t) => {
  const { raw } = openTestCatalog(t);
  assert.throws(() => raw().prepare("INSERT INTO bucket_totals (bucket, photos, bytes) VALUES ('images', -1, 0)").run(), /CHECK constraint failed/);
});
