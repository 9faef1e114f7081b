// The promise, proven the hard way: concurrent stores, metadata updates and
// deletes through the sidecar client while the daemon is SIGKILLed at random
// moments, round after round. After every restart, everything acknowledged
// holds: each acknowledged store reads back (with its sha256 at the end),
// each acknowledged delete is gone, each acknowledged update shows. An
// operation whose answer the kill cut off may have happened or not. At the
// end MinIO (listed with the minio client directly) and SQLite (opened
// directly) agree: no orphan object, no row without its object, no unfinished
// row, no incomplete multipart upload.
//
// The random seed is printed; STORAGED_KILL_SEED=<seed> replays a run,
// STORAGED_KILL_ROUNDS sets the rounds (at least 20 by default).

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { BUCKETS } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';
import { incompleteUploadsOf } from '../support/incomplete-uploads';
import { PHOTO_COLUMNS, recordOf, toPhoto } from '../../src/daemon/db/photo-row';
import { decodeRecord, recordKeyFor, updateRecordOf } from '../../src/daemon/update-records/update-record';

const photoOf = (row: unknown[]) => toPhoto(recordOf(row));

const MIB = 1024 * 1024;
const SEED = Number(process.env.STORAGED_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.STORAGED_KILL_ROUNDS ?? 20);
const WORKERS = 6;

/** mulberry32: small, seedable, good enough to pick operations and moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  sha256: string;
  size: number;
  /** alive: acknowledged store; deleted: acknowledged delete; maybe-deleted: a delete the kill cut off. */
  state: 'alive' | 'deleted' | 'maybe-deleted';
  /** The metadata version last acknowledged, and one the kill may have cut off. */
  version: number;
  inFlightVersion: number | null;
  busy: boolean;
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test(`kill -9 at random moments loses nothing acknowledged (seed ${SEED})`, { timeout: 600_000 }, async (t) => {
  console.log(`kill -9 ledger: seed ${SEED}, ${ROUNDS} rounds (STORAGED_KILL_SEED=${SEED} replays it)`);
  const rand = random(SEED);
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, {
    STORAGED_PENDING_TIMEOUT_S: '1',
    STORAGED_ORPHAN_GRACE_S: '0',
    STORAGED_RECOVERY_INTERVAL_S: '1',
    STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
    BACKUP_INTERVAL: '0',
    LOG_LEVEL: 'debug',
  });
  const ledger = new Map<string, Entry>();
  const acked = { stores: 0, deletes: 0, updates: 0, cutOff: 0 };

  async function verify(client: StorageClient, withBytes: boolean): Promise<void> {
    for (const [id, e] of ledger) {
      let photo: Awaited<ReturnType<StorageClient['getPhoto']>> | null = null;
      try {
        photo = await client.getPhoto(id);
      } catch (err) {
        if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
      }
      if (e.state === 'deleted') assert.equal(photo, null, `acknowledged delete of ${id} is undone (seed ${SEED})`);
      else if (e.state === 'alive') assert.ok(photo, `acknowledged store ${id} is lost (seed ${SEED})`);
      if (e.state === 'maybe-deleted') e.state = photo === null ? 'deleted' : 'alive';
      if (photo === null) continue;
      assert.equal(photo.checksum, e.sha256, `${id} changed (seed ${SEED})`);
      const version = Number((photo.metadata as Record<string, string>).v ?? 0);
      assert.ok(version === e.version || version === e.inFlightVersion, `${id} shows version ${version}, acknowledged ${e.version} (seed ${SEED})`);
      e.version = version;
      e.inFlightVersion = null;
      if (withBytes) {
        const back = Buffer.concat(await (await client.readPhoto(id)).body.toArray());
        assert.equal(digest(back), e.sha256, `${id} reads back different bytes (seed ${SEED})`);
      }
    }
  }

  async function worker(client: StorageClient, stop: { now: boolean }): Promise<void> {
    while (!stop.now) {
      const pick = rand();
      const alive = [...ledger].filter(([, e]) => e.state === 'alive' && !e.busy);
      if (pick < 0.5 || alive.length === 0) {
        const size = rand() < 0.07 ? 6 * MIB + Math.floor(rand() * MIB) : 1000 + Math.floor(rand() * 40_000);
        const body = pngBytes(size);
        try {
          const r = await client.storePhoto(body, { originalName: `k${size}.png`, clientId: 'acme', userId: 'u' });
          ledger.set(r.id, { sha256: digest(body), size, state: 'alive', version: 0, inFlightVersion: null, busy: false });
          acked.stores++;
        } catch {
          acked.cutOff++;
        }
      } else {
        const [id, e] = alive[Math.floor(rand() * alive.length)]!;
        e.busy = true;
        if (pick < 0.8) {
          const next = e.version + 1;
          e.inFlightVersion = next;
          try {
            await client.updatePhotoMetadata(id, { metadata: { v: String(next) } });
            e.version = next;
            e.inFlightVersion = null;
            acked.updates++;
          } catch {
            acked.cutOff++;
          }
        } else {
          e.state = 'maybe-deleted';
          try {
            await client.deletePhoto(id);
            e.state = 'deleted';
            acked.deletes++;
          } catch {
            acked.cutOff++;
          }
        }
        e.busy = false;
      }
    }
  }

  let daemon: DaemonProcess | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    daemon = await spawnDaemon(t, env);
    // One try per call: an operation the kill cuts off is the ledger's 'maybe', not something to retry into the next round.
    const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 60_000, retry: false });
    await verify(client, false);
    const stop = { now: false };
    const work = Array.from({ length: WORKERS }, () => worker(client, stop));
    await new Promise((r) => setTimeout(r, 100 + rand() * 600));
    // No new operation starts; those in flight are cut off by the kill.
    stop.now = true;
    assert.equal(await daemon.stop('SIGKILL'), 'SIGKILL');
    await Promise.all(work);
    await client.close();
  }

  // A last start: its recovery settles what the kills left; then check everything, bytes too.
  daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  await verify(client, true);
  const passes = () => daemon!.stdout().split('recovery pass finished').length - 1;
  const before = passes();
  for (let i = 0; i < 400 && passes() < before + 2; i++) await new Promise((r) => setTimeout(r, 50));
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const db = new Database(path.join(dataDir, 'storage.db'), { readonly: true });
  t.after(() => db.close());
  const rows = db.prepare('SELECT bucket, s3_key, state, size FROM photos').all() as Array<{ bucket: string; s3_key: string; state: string; size: number }>;
  assert.deepEqual(rows.filter((r) => r.state !== 'committed'), [], 'no unfinished row');
  const objects = new Map<string, number>();
  for (const bucket of BUCKETS) {
    for await (const o of minio.client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name: string; size: number }>) objects.set(`${bucket}/${o.name}`, o.size);
    const uploads: string[] = [];
    for (const u of await incompleteUploadsOf(minio.client, bucket)) uploads.push(u.key);
    assert.deepEqual(uploads, [], `no incomplete multipart upload in ${bucket}`);
  }
  let records = 0;
  for (const r of rows) {
    assert.equal(objects.get(`${r.bucket}/${r.s3_key}`), r.size, `row ${r.s3_key} has its object`);
    objects.delete(`${r.bucket}/${r.s3_key}`);
    // An updated photo's update record holds its row as it is now, whatever the kills cut between the two.
    const recordKey = recordKeyFor(r.s3_key, 'storaged')!;
    if (!objects.has(`${r.bucket}/${recordKey}`)) continue;
    objects.delete(`${r.bucket}/${recordKey}`);
    const body = Buffer.concat(await (await minio.client.getObject(r.bucket, recordKey)).toArray());
    const photo = photoOf(db.prepare(`SELECT ${PHOTO_COLUMNS} FROM photos p WHERE p.s3_key = ?`).raw(true).get(r.s3_key) as unknown[]);
    const decoded = decodeRecord(body);
    assert.ok(decoded, `the record of ${r.s3_key} is one`);
    const { refused, held: _held, ...record } = decoded;
    assert.deepEqual(refused, [], `the record of ${r.s3_key} passes today's rules`);
    assert.deepEqual(record, updateRecordOf(photo, decoded.catalogId), `the record of ${r.s3_key} holds its row`);
    records++;
  }
  assert.ok(records > 0, 'updated photos have their records');
  assert.deepEqual(db.prepare('SELECT id FROM photos WHERE record_owed = 1').all(), [], 'no record still owed after the passes');
  assert.deepEqual([...objects.keys()], [], 'no object without its row (and no record without its photo)');
  console.log(
    `kill -9 ledger: ${ROUNDS} rounds, ${acked.stores} stores, ${acked.updates} updates and ${acked.deletes} deletes acknowledged, ` +
      `${acked.cutOff} cut off by a kill; ${ledger.size} photos checked, 0 lost (seed ${SEED})`,
  );
});
