// Issue 13, item 5: 64 KiB of processing metadata on thousands of photos,
// then the largest searches a caller may ask for, through both doors. Before,
// a `limit: 1000` page parsed ~1.3 GiB of metadata and the socket refused
// any answer over its 1 MiB frame (the default 50 rows were enough). Now the
// daemon cuts pages by bytes: both doors answer, the daemon's peak memory
// stays bounded, and a well-behaved caller is served all along.
//
// Issue 15: the same on a daemon whose catalog is PostgreSQL (the rows
// copied there by migrate-catalog's copy), whose search once sent every
// page whole and the socket refused it.

import * as assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copySqliteToPostgres } from '../../src/daemon/catalog-pg/copy-from-sqlite';
import { Catalog } from '../../src/daemon/db/catalog';
import { createLogger } from '../../src/daemon/logger';
import { RemoteClient } from '../../src/remote-client';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import type { SearchResult } from '../../src/protocol/types';
import { startCatalogDatabase } from '../support/catalog-database';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const PHOTOS = 2000;
/** `[{},{},…]`: 64 KiB of JSON, the most heap per byte of text (~1.3 MiB parsed). */
const HEAVY = JSON.stringify(Array.from({ length: 21_845 }, () => ({})));
/** Peak resident memory the daemon must stay under: the default memory budget. */
const PEAK_LIMIT_BYTES = 256 * 1024 * 1024;

/** The catalog file the daemon will open: PHOTOS committed rows of `acme`, each with HEAVY processing metadata. */
function fillCatalog(file: string): void {
  Catalog.open({ path: file, logger: createLogger('silent') }).close();
  const db = new Database(file);
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
      metadata, processing_status, processing_metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, 'acme', 'user-1', NULL, ?, 'image/jpeg', 'images', ?, 1000, ?, '{}', 'completed', ?, 'committed', ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < PHOTOS; i++) {
      const id = randomUUID();
      const at = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
      insert.run(id, `heavy-${i}.jpg`, `storaged/${id}.jpg`, 'ab'.repeat(32), HEAVY, at, at, at, at);
    }
    // Rows written by SQL have no search words yet: the daemon indexes them when it opens the file.
    db.prepare('INSERT OR IGNORE INTO photo_words_backfill (singleton) VALUES (1)').run();
  })();
  db.close();
}

function peakResident(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(kib !== null, 'VmHWM in /proc/<pid>/status');
  return Number(kib[1]) * 1024;
}

/** A daemon on the filled SQLite file (blobs in a directory), or on a PostgreSQL catalog holding a copy of it (blobs in MinIO). */
async function startFilledDaemon(t: TestContext, engine: 'SQLite' | 'PostgreSQL', token: string): Promise<DaemonProcess> {
  const dir = tempDir(t);
  const file = path.join(dir, 'storage.db');
  fillCatalog(file);
  const env = { STORAGED_TOKENS: `${token} acme` };
  if (engine === 'SQLite') return spawnDaemon(t, daemonEnv(dir, null, env));
  const minio = await startMinio(t);
  const catalog = await startCatalogDatabase(t);
  const copier = new pg.Client({ connectionString: catalog.url });
  await copier.connect();
  try {
    await copySqliteToPostgres(file, copier);
  } finally {
    await copier.end();
  }
  fs.rmSync(file);
  const daemon = await spawnDaemon(t, daemonEnv(dir, minio, { ...env, STORAGED_CATALOG_URL: catalog.url }));
  catalog.disposeLast();
  return daemon;
}

for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  test(`64 KiB of processing metadata on 2,000 photos: the largest searches are answered through both doors, in bounded memory (${engine})`, { timeout: 300_000 }, async (t) => {
    const token = randomBytes(24).toString('base64url');
    const daemon = await startFilledDaemon(t, engine, token);
    const sidecar = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token, cacheConfig: { enabled: false } });
    t.after(() => sidecar.close());
    const remote = new RemoteClient({ url: daemon.httpUrl!, token });
    t.after(() => remote.close());

    // A well-behaved caller: a small photo of its own, read every millisecond while the large searches run.
    // (Back to back, with searches off the event loop, it made 160,000 calls, and their garbage moved the
    // daemon's peak more than the searches did.)
    const own = await sidecar.storePhoto(pngBytes(2000), { originalName: 'small.png', clientId: 'acme' });
    let served = 0;
    let searching = true;
    const wellBehaved = (async () => {
      while (searching) {
        assert.equal((await sidecar.getPhoto(own.id)).id, own.id);
        served++;
        await delay(1);
      }
    })();

    let walk: { pages: number; ms: number };
    try {
      await searchBothDoors(sidecar, remote);
      walk = await walkEveryPhoto(sidecar);
    } finally {
      searching = false;
      await wellBehaved;
    }
    assert.ok(served > 0, 'the well-behaved caller was served during the searches');

    const peak = peakResident(daemon.proc.pid!);
    assert.ok(peak < PEAK_LIMIT_BYTES, `the daemon's peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB is under ${PEAK_LIMIT_BYTES / 2 ** 20} MiB`);
    t.diagnostic(`daemon peak resident ${(peak / 2 ** 20).toFixed(0)} MiB; the small photo was read ${served} times meanwhile`);
    t.diagnostic(`every photo walked by cursor over the socket in ${walk.pages} pages, ${(walk.ms / walk.pages).toFixed(1)} ms a page`);
  });
}

/** Follows nextCursor over the socket from the first page to the last: each of the PHOTOS heavy photos exactly once. */
async function walkEveryPhoto(sidecar: StorageClient): Promise<{ pages: number; ms: number }> {
  const started = performance.now();
  const seen = new Set<string>();
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: SearchResult = await sidecar.searchPhotos({ query: 'heavy', limit: 1000, ...(cursor === null ? {} : { cursor }) });
    pages++;
    assert.equal(page.total, PHOTOS);
    assert.ok(page.photos.length >= 1 && page.photos.length < 50, `page ${pages} holds ${page.photos.length}`);
    assert.equal(page.page.hasMore, page.page.nextCursor !== null);
    for (const photo of page.photos) {
      assert.ok(!seen.has(photo.id), `${photo.id} twice`);
      seen.add(photo.id);
    }
    cursor = page.page.nextCursor;
  } while (cursor !== null);
  assert.equal(seen.size, PHOTOS, 'every heavy photo reached');
  return { pages, ms: performance.now() - started };
}

async function searchBothDoors(sidecar: StorageClient, remote: RemoteClient): Promise<void> {
  const doors: Array<[string, (query: object) => Promise<SearchResult>]> = [
    ['socket', (query) => sidecar.searchPhotos(query)],
    ['gateway', (query) => remote.searchPhotos(query)],
  ];
  for (const [door, search] of doors) {
    for (const query of [{}, { query: 'heavy' }, { query: 'heavy', limit: 1000 }, { limit: 1000, sort: { field: 'size', order: 'asc' } }]) {
      const page = await search(query);
      assert.ok(page.photos.length >= 1, `${door} ${JSON.stringify(query)}`);
      assert.ok(page.photos.length < 50, `${door} ${JSON.stringify(query)}: a page of ${page.photos.length} is cut by bytes`);
      assert.equal(page.page.limit, page.photos.length);
      assert.equal(page.page.hasMore, true);
      assert.ok(page.total >= PHOTOS);
      assert.ok(page.photos.some((p) => Array.isArray(p.processing_metadata) && p.processing_metadata.length === 21_845), 'metadata whole');
    }
    // Walking on by cursor: every page answered, no photo twice.
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const page: SearchResult = await search({ query: 'heavy', limit: 1000, ...(cursor === null ? {} : { cursor }) });
      for (const photo of page.photos) {
        assert.ok(!seen.has(photo.id), `${door}: ${photo.id} twice`);
        seen.add(photo.id);
      }
      cursor = page.page.nextCursor;
      assert.ok(cursor !== null);
    }
  }
}
