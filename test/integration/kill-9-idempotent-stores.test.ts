// Idempotent stores through a daemon killed with SIGKILL while they are in
// flight: the client retries every store with its key (connection lost, then
// the daemon not listening until it is started again), and when all have
// answered, each key has exactly one committed row, its answer names that row,
// and the bytes read back. None is lost, none is stored twice, whether the
// kill came before the row, between the blob and the commit, or after the
// commit but before the answer.

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const MIB = 1024 * 1024;
const ROUNDS = Number(process.env.STORAGED_KILL_ROUNDS_IDEMPOTENT ?? 4);
const STORES_PER_ROUND = 24;
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('kill -9 while stores are in flight: every retried key is stored exactly once, none lost', { timeout: 300_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, {
    STORAGED_SPOOL_THRESHOLD_BYTES: String(256 * 1024),
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
    BACKUP_INTERVAL: '0',
  });
  let daemon = await spawnDaemon(t, env);
  const client = new StorageClient({
    socketPath: daemon.socketPath,
    clientId: 'acme',
    cacheConfig: { enabled: false },
    // Long enough to outlast a restart: the socket is refused until the new daemon listens.
    retry: { retries: 100, minDelayMs: 20, maxDelayMs: 300, deadlineMs: 120_000 },
  });
  t.after(() => client.close());

  const expected = new Map<string, { sha256: string; size: number }>();
  const answered = new Map<string, string>();
  const pending = new Set<string>();
  let cutOff = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const stores: Array<Promise<void>> = [];
    for (let i = 0; i < STORES_PER_ROUND; i++) {
      const key = `r${round}-s${i}`;
      // Mostly small bodies; some spooled, one in six large enough for a multipart upload begun while it arrives.
      const size = i % 6 === 5 ? 6 * MIB + i : i % 3 === 0 ? 300 * 1024 + i : 2000 + 997 * i;
      const body = pngBytes(size);
      expected.set(key, { sha256: digest(body), size });
      pending.add(key);
      stores.push(
        client.storePhoto(body, { originalName: `${key}.png`, clientId: 'acme', idempotencyKey: key }).then((r) => {
          answered.set(key, r.id);
          pending.delete(key);
        }),
      );
    }
    // The stores are at every stage when the daemon dies: queued, arriving, going up, committed but unanswered.
    await new Promise((r) => setTimeout(r, 40 + round * 60));
    cutOff += pending.size;
    assert.equal(await daemon.stop('SIGKILL'), 'SIGKILL');
    daemon = await spawnDaemon(t, env);
    await Promise.all(stores);
  }
  assert.equal(answered.size, expected.size, 'every store was answered');
  assert.ok(cutOff >= ROUNDS, `stores were in flight at the kills (${cutOff})`);

  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);
  const db = new Database(path.join(dataDir, 'storage.db'), { readonly: true });
  t.after(() => db.close());
  const rowsOf = db.prepare('SELECT id, state, size, checksum FROM photos WHERE client_id = ? AND idempotency_key = ?');
  for (const [key, want] of expected) {
    const rows = rowsOf.all('acme', key) as Array<{ id: string; state: string; size: number; checksum: string }>;
    assert.equal(rows.length, 1, `key ${key}: ${rows.length} rows (${JSON.stringify(rows)})`);
    assert.deepEqual(rows[0], { id: answered.get(key), state: 'committed', size: want.size, checksum: want.sha256 }, `key ${key}`);
  }
  const total = db.prepare('SELECT count(*) FROM photos').pluck().get();
  assert.equal(total, expected.size, 'no row beside them');

  // The bytes are there, through a fresh daemon.
  daemon = await spawnDaemon(t, env);
  const reader = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', cacheConfig: { enabled: false } });
  t.after(() => reader.close());
  for (const [key, id] of answered) {
    const back = Buffer.concat(await (await reader.readPhoto(id)).body.toArray());
    assert.equal(digest(back), expected.get(key)!.sha256, `${key} reads back`);
  }
  console.log(`kill -9 idempotent stores: ${ROUNDS} kills, ${expected.size} stores, ${cutOff} in flight at a kill and retried, each key stored once`);
});
