// The catalog's own recoverability, measured (issue: the catalog must never be
// a single point of loss):
// - catalog.backup.100k: a backup of a 100,000-row catalog taken while the
//   daemon serves getPhoto at 32 in flight; its time and size, and the
//   getPhoto rate and p99 during it against the same load just before.
// - catalog.rebuild.100k: `storaged rebuild` of 100,000 objects that name
//   themselves, on the local backend (objects written straight to disk for
//   the fixture; the rebuild is the real one).

import { NO_CACHE } from './no-cache';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { identityMetadata } from '../src/daemon/blobs/object-identity';
import { runRebuild } from '../src/daemon/cli/rebuild';
import { loadConfig } from '../src/daemon/config/daemon-config';
import { Daemon } from '../src/daemon/daemon';
import { Catalog } from '../src/daemon/db/catalog';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { note, percentile, report } from './report';

const ROWS = 100_000;
const IN_FLIGHT = 32;

function env(dir: string): Record<string, string> {
  return { STORAGED_DATA_DIR: dir, PORT: '0', BACKUP_INTERVAL: '0', LOG_LEVEL: 'silent' };
}

/** 100,000 committed rows of one client, straight into the file the daemon will open. */
function fillCatalog(file: string): string[] {
  Catalog.open({ path: file, logger: pino({ level: 'silent' }) }).close();
  const db = new Database(file);
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
      metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, 'acme', ?, NULL, ?, 'image/jpeg', 'images', ?, 204800, ?, '{"album":"bench"}', 'committed', ?, ?, ?, ?)`);
  const ids: string[] = [];
  db.transaction(() => {
    const now = new Date().toISOString();
    for (let i = 0; i < ROWS; i++) {
      const id = randomUUID();
      ids.push(id);
      insert.run(id, `user-${i % 1000}`, `holiday-${i} beach.jpg`, `storaged/2026/12/${id}.jpg`, 'ab'.repeat(32), now, now, now, now);
    }
  })();
  db.close();
  return ids;
}

/** getPhoto at IN_FLIGHT until `until` settles; calls per second and latencies. */
async function load(client: StorageClient, ids: string[], until: Promise<unknown>): Promise<{ rate: number; p99: number }> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (!done) {
        const t0 = performance.now();
        await client.getPhoto(ids[Math.floor(Math.random() * ids.length)]!);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rate: latencies.length / ((performance.now() - started) / 1000), p99: percentile(latencies, 99) };
}

export async function benchBackup100k(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-backup-'));
  try {
    const config = loadConfig(env(dir));
    note(`catalog.backup.100k: inserting ${ROWS} rows`);
    const ids = fillCatalog(config.sqlitePath);
    const daemon = await Daemon.start(config, pino({ level: 'silent' }));
    const client = new StorageClient({ socketPath: config.socketPath, clientId: 'acme', cacheConfig: NO_CACHE });
    try {
      await load(client, ids, new Promise((r) => setTimeout(r, 1000))); // warm-up
      const quiet = await load(client, ids, new Promise((r) => setTimeout(r, 3000)));
      const started = performance.now();
      const backup = daemon.backups.runNow();
      const during = await load(client, ids, backup);
      const manifest = await backup;
      const ms = performance.now() - started;
      report({ bench: 'catalog.backup.100k', value: ms, unit: 'ms', baseline: 'none', baseline_value: null, rows: ROWS, size_bytes: manifest.size });
      report({
        bench: 'catalog.backup.100k.getPhoto',
        value: during.rate,
        unit: 'ops/s',
        p99_ms: during.p99,
        baseline: 'getPhoto at 32 in flight without a backup',
        baseline_value: quiet.rate,
        baseline_p99_ms: Number(quiet.p99.toFixed(3)),
      });
    } finally {
      await client.close();
      await daemon.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRebuild100k(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-rebuild-'));
  try {
    const config = loadConfig(env(dir));
    note(`catalog.rebuild.100k: writing ${ROWS} objects with their identity`);
    const root = path.join(config.blobDir, 'images', 'storaged', '2026', '12');
    fs.mkdirSync(root, { recursive: true });
    const body = Buffer.alloc(100, 7);
    const catalogId = '0123456789abcdef0123456789abcdef';
    for (let i = 0; i < ROWS; i++) {
      const id = randomUUID();
      const file = path.join(root, `${id}.jpg`);
      fs.writeFileSync(file, body);
      const identity = {
        id, catalogId, clientId: 'acme', userId: `user-${i % 1000}`, sessionId: null, originalFilename: `holiday-${i}.jpg`,
        mimeType: 'image/jpeg', size: body.length, sha256: 'ab'.repeat(32), uploadedAt: new Date().toISOString(),
      };
      fs.writeFileSync(`${file}.storaged-identity`, JSON.stringify(identityMetadata(identity)));
    }
    const started = performance.now();
    const result = await runRebuild(config, false);
    const seconds = (performance.now() - started) / 1000;
    if (result.adopted !== ROWS) throw new Error(`rebuild adopted ${result.adopted} of ${ROWS}`);
    report({ bench: 'catalog.rebuild.100k', value: ROWS / seconds, unit: 'objects/s', baseline: 'none', baseline_value: null, seconds: Number(seconds.toFixed(2)), backend: 'fs' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
