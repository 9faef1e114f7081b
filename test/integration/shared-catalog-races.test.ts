// Two daemons on one PostgreSQL catalog and one MinIO, where one acts on rows
// and objects the other may still own: recovery on node A while node B is
// between the steps of a store. Each node is the daemon's own parts (a
// PostgresCatalog, a MinioBlobStore, a StorageCoordinator, recovery) in this
// process, so a store can be held between its steps and the race played in
// one order, not hoped for. Last, the same rule on one node: a commit whose
// answer is lost after PostgreSQL applied it.

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import * as path from 'node:path';
import { runMigrateCatalog } from '../../src/daemon/cli/migrate-catalog';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { Catalog } from '../../src/daemon/db/catalog';
import { MinioBlobStore } from '../../src/daemon/blobs/minio-blob-store';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { UnavailableError } from '../../src/protocol/errors';
import { StorageCoordinator } from '../../src/daemon/coordinator/storage-coordinator';
import { createLogger } from '../../src/daemon/logger';
import { recover } from '../../src/daemon/recovery/recovery';
import { DEFAULT_ALLOWED_TYPES } from '../../src/daemon/validation/allowed-types';
import { BUCKETS } from '../../src/protocol/types';
import { daemonEnv } from '../support/daemon-env';
import { pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { tempDir } from '../support/temp-dir';

const logger = createLogger('silent');
let server: PostgresHandle;
let minio: MinioHandle;

before(async () => {
  server = await startPostgres();
  minio = await startMinio();
});
after(async () => {
  await minio.dispose();
  await server.dispose();
});

interface Node {
  catalog: PostgresCatalog;
  blobs: MinioBlobStore;
  coordinator: StorageCoordinator;
}

/** A daemon's catalog, blob store and coordinator under a node id; `catalogOf` may wrap the catalog the coordinator sees. */
async function node(t: TestContext, url: string, nodeId: string, catalogOf: (c: PostgresCatalog) => PostgresCatalog = (c) => c): Promise<Node> {
  const catalog = await PostgresCatalog.open({ url, logger, nodeId });
  t.after(() => catalog.close());
  const blobs = new MinioBlobStore(
    { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey },
    logger,
  );
  await blobs.ensureBuckets(BUCKETS);
  const coordinator = new StorageCoordinator(
    catalogOf(catalog),
    blobs,
    { maxBodyBytes: 50 * 1024 * 1024, allowedTypes: DEFAULT_ALLOWED_TYPES, spoolDir: tempDir(t), spoolThresholdBytes: 1024 * 1024 },
    logger,
  );
  return { catalog, blobs, coordinator };
}

/**
 * The catalog as node B's coordinator sees it, with its commits held at a
 * gate: `reached` resolves when a store has written its blob and asks to
 * commit, and the commit goes on once `open()` is called.
 */
function heldCommits(catalog: PostgresCatalog) {
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const wrapped = new Proxy(catalog, {
    get(target, prop) {
      if (prop === 'commitPending') {
        return async (...args: Parameters<PostgresCatalog['commitPending']>) => {
          arrived();
          await gate;
          return target.commitPending(...args);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { wrapped, reached, open };
}

const ctx = (clientId: string) => ({ clientId, signal: new AbortController().signal });

async function* bodyOf(bytes: Buffer): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function sha256Of(n: Node, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await n.blobs.read(bucket, key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

test("recovery on node A commits node B's store while B is between its blob and its commit: B answers it stored and the object stays", { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  let held!: ReturnType<typeof heldCommits>;
  const b = await node(t, url, 'node-b', (c) => (held = heldCommits(c)).wrapped);
  const a = await node(t, url, 'node-a');

  const bytes = pngBytes(5000);
  const storing = b.coordinator
    .storePhoto(ctx('acme'), { originalName: 'slow-commit.png', clientId: 'acme', idempotencyKey: 'k-slow-commit' }, bodyOf(bytes))
    .then((r) => ({ ok: true as const, r }), (err: unknown) => ({ ok: false as const, err }));
  await held.reached;

  // A sees B's row as past the pending timeout (B's store is slower than it, or B's clock is behind A's):
  // the object is there with the recorded size and sha256, so A commits the row, and its idempotency key.
  const report = await recover(a.catalog, a.blobs, { pendingTimeoutMs: 0, orphanGraceMs: 3_600_000, sweep: 'none' }, logger);
  assert.equal(report.pendingCommitted, 1);
  held.open();
  const outcome = await storing;

  assert.ok(outcome.ok, `B's store answers the photo recovery committed for it (got ${outcome.ok ? '' : String(outcome.err)})`);
  const photo = await a.catalog.getPhoto('acme', outcome.r.id);
  assert.ok(photo !== null, 'the photo is committed');
  assert.equal(outcome.r.checksum, photo.checksum);
  assert.notEqual(await a.blobs.stat(photo.bucket, photo.s3_key), null, 'the committed photo keeps its object');
  assert.equal(await sha256Of(a, photo.bucket, photo.s3_key), createHash('sha256').update(bytes).digest('hex'));
  // A retry of the same store (under its key) through A is answered with the same photo, whose bytes are there.
  const again = await a.coordinator.storePhoto(ctx('acme'), { originalName: 'slow-commit.png', clientId: 'acme', idempotencyKey: 'k-slow-commit' }, bodyOf(bytes));
  assert.equal(again.id, outcome.r.id);
});

test("recovery on node A rolls node B's held store back: B's store fails and leaves nothing, in PostgreSQL or MinIO", { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  let held!: ReturnType<typeof heldCommits>;
  const b = await node(t, url, 'node-b', (c) => (held = heldCommits(c)).wrapped);
  const a = await node(t, url, 'node-a');

  const storing = b.coordinator
    .storePhoto(ctx('acme'), { originalName: 'rolled-back.png', clientId: 'acme' }, bodyOf(pngBytes(6000)))
    .then((r) => ({ ok: true as const, r }), (err: unknown) => ({ ok: false as const, err }));
  await held.reached;
  const [row] = (await a.catalog.staleRows('pending', new Date(Date.now() + 60_000).toISOString(), 10));
  assert.ok(row !== undefined);
  // Its object turned out different from what the row recorded (here: overwritten), so A rolls the store back.
  const other = pngBytes(6000);
  await a.blobs.put(row.bucket, row.s3_key, { buffer: other }, other.length, 'image/png');
  const report = await recover(a.catalog, a.blobs, { pendingTimeoutMs: 0, orphanGraceMs: 3_600_000, sweep: 'none' }, logger);
  assert.equal(report.pendingRolledBack, 1);
  held.open();
  const outcome = await storing;

  assert.equal(outcome.ok, false, 'a store whose row was rolled back is not acknowledged');
  assert.equal((outcome as { err: { code?: string } }).err.code, 'UNAVAILABLE', 'a store to retry, not a missing photo');
  assert.equal(await a.blobs.stat(row.bucket, row.s3_key), null, 'no object is left');
  assert.deepEqual(await a.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 }, 'no row is left');
});

test('one idempotency key stored through two nodes at once: both answer the same photo, and one object stays', { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  let held!: ReturnType<typeof heldCommits>;
  const b = await node(t, url, 'node-b', (c) => (held = heldCommits(c)).wrapped);
  const a = await node(t, url, 'node-a');
  const bytes = pngBytes(4000);
  const options = { originalName: 'twice.png', clientId: 'acme', idempotencyKey: 'k-twice' };

  // Each node keeps one store per key at a time only among its own: B's runs up to its commit, A's runs whole meanwhile.
  const viaB = b.coordinator.storePhoto(ctx('acme'), options, bodyOf(bytes));
  await held.reached;
  const [mine] = await a.catalog.staleRows('pending', new Date(Date.now() + 60_000).toISOString(), 10);
  assert.ok(mine !== undefined, "B's pending row");
  const viaA = await a.coordinator.storePhoto(ctx('acme'), options, bodyOf(bytes));
  held.open();
  assert.equal((await viaB).id, viaA.id, "B's commit finds the key taken and answers A's photo");

  const { rows } = await a.catalog.pool.query<{ id: string; state: string }>('SELECT id, state FROM photos');
  assert.deepEqual(rows.map((r) => [r.id, r.state]), [[viaA.id, 'committed']], "B's own row is gone");
  assert.notEqual(await a.blobs.stat(viaA.bucket, viaA.s3_key), null, "A's object stays");
  assert.equal(await a.blobs.stat(mine.bucket, mine.s3_key), null, "B's object is removed");
});

test("node A's orphan sweep, with no grace at all, leaves the object of node B's store that is about to commit", { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  let held!: ReturnType<typeof heldCommits>;
  const b = await node(t, url, 'node-b', (c) => (held = heldCommits(c)).wrapped);
  const a = await node(t, url, 'node-a');

  const bytes = pngBytes(3000);
  const storing = b.coordinator.storePhoto(ctx('acme'), { originalName: 'about-to-commit.png', clientId: 'acme' }, bodyOf(bytes));
  await held.reached;
  // B's row is young (an hour's timeout), so only the sweep could touch its object: the row, inserted before the object, names it.
  const report = await recover(a.catalog, a.blobs, { pendingTimeoutMs: 3_600_000, orphanGraceMs: 0, sweep: 'full' }, logger);
  assert.equal(report.orphansRemoved, 0);
  held.open();
  const stored = await storing;
  assert.equal(await sha256Of(a, stored.bucket, stored.s3_key), createHash('sha256').update(bytes).digest('hex'), 'the acknowledged photo has its bytes');
});

test('a commit that PostgreSQL applied but whose answer was lost (an outage at that moment): the store answers the photo, and its object stays', { timeout: 60_000 }, async (t) => {
  const url = await server.createDatabase();
  // The catalog's commit lands, then its connection fails before the answer arrives, as a query timeout after COMMIT would.
  const b = await node(t, url, 'node-b', (catalog) =>
    new Proxy(catalog, {
      get(target, prop) {
        if (prop === 'commitPending') {
          return async (...args: Parameters<PostgresCatalog['commitPending']>) => {
            await target.commitPending(...args);
            throw new UnavailableError('the catalog did not answer within its timeout');
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }),
  );
  const bytes = pngBytes(3500);
  const stored = await b.coordinator.storePhoto(ctx('acme'), { originalName: 'lost-answer.png', clientId: 'acme' }, bodyOf(bytes));
  assert.equal((await b.catalog.getPhoto('acme', stored.id))?.checksum, stored.checksum, 'the photo is committed');
  assert.equal(await sha256Of(b, stored.bucket, stored.s3_key), createHash('sha256').update(bytes).digest('hex'), 'and its object is there');
});

test('a daemon started again on the SQLite file a catalog was migrated from leaves the photos stored through PostgreSQL alone', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const sqlitePath = path.join(dir, 'storage.db');
  Catalog.open({ path: sqlitePath, logger }).close();
  const url = await server.createDatabase();
  await runMigrateCatalog(loadConfig(daemonEnv(dir, minio, { SQLITE_PATH: sqlitePath })), url, false);
  const b = await node(t, url, 'node-b');

  // A host whose environment still lacks STORAGED_CATALOG_URL starts on the old file, beside the PostgreSQL daemons.
  const stale = Catalog.open({ path: sqlitePath, logger });
  t.after(() => stale.close());
  const viaStale = new StorageCoordinator(
    stale,
    b.blobs,
    { maxBodyBytes: 50 * 1024 * 1024, allowedTypes: DEFAULT_ALLOWED_TYPES, spoolDir: tempDir(t), spoolThresholdBytes: 1024 * 1024 },
    logger,
  );
  const stored = await b.coordinator.storePhoto(ctx('acme'), { originalName: 'shared.png', clientId: 'acme' }, bodyOf(pngBytes(3000)));
  // The stale daemon serves its host meanwhile (its run now spans the shared photo's upload), then sweeps with no grace.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await viaStale.storePhoto(ctx('acme'), { originalName: 'local.png', clientId: 'acme' }, bodyOf(pngBytes(2000)));
  const report = await recover(stale, b.blobs, { pendingTimeoutMs: 3_600_000, orphanGraceMs: 0, sweep: 'full' }, logger);
  assert.equal(report.orphansRemoved, 0);
  assert.notEqual(await b.blobs.stat(stored.bucket, stored.s3_key), null, 'the photo stored through PostgreSQL keeps its object');
});
