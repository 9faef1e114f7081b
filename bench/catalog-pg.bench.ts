// The catalog on PostgreSQL against the embedded SQLite catalog, in the same
// run on the same MinIO:
// - catalog.pg.store.200k.c16: 200 KB stores, 16 in flight, split 8 + 8
//   between two daemons sharing one PostgreSQL catalog (many hosts, here on
//   one), against store.200k.c16 through one daemon on SQLite;
// - catalog.pg.getPhoto: getPhoto calls/s through a daemon on PostgreSQL
//   (no getPhoto cache there: every call is a read) against one on SQLite.
// Each pair alternates baseline and subject (interleaved.ts).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { daemonEnv } from '../test/support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../test/support/daemon-process';
import { pngBytes } from '../test/support/image-bytes';
import { startMinio } from '../test/support/minio-server';
import { benchCatalogUrl } from './bench-postgres';
import { concurrentRound } from './concurrent-round';
import { interleaved } from './interleaved';
import { LatencyRecorder } from './latency-recorder';
import { NO_CACHE } from './no-cache';
import { note, percentile, report } from './report';

const STORE_IN_FLIGHT = 16;
const STORES_PER_ROUND = 1024;
const GET_IN_FLIGHT = 32;
const GETS_PER_ROUND = 4096;
const PAIRS = 3;

export async function benchCatalogPg(): Promise<void> {
  const dirs: string[] = [];
  const dir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-'));
    dirs.push(d);
    return d;
  };
  const minio = await startMinio();
  const catalog = await benchCatalogUrl();
  const daemons: DaemonProcess[] = [];
  const clients: StorageClient[] = [];
  const client = (d: DaemonProcess) => {
    const c = new StorageClient({ socketPath: d.socketPath, clientId: 'bench', cacheConfig: NO_CACHE });
    clients.push(c);
    return c;
  };
  try {
    const onSqlite = await spawnDaemon(null, daemonEnv(dir(), minio));
    daemons.push(onSqlite);
    const pgEnv = (node: string) => daemonEnv(dir(), minio, { STORAGED_CATALOG_URL: catalog.url, STORAGED_NODE_ID: node });
    const pgA = await spawnDaemon(null, pgEnv('bench-a'));
    daemons.push(pgA);
    const pgB = await spawnDaemon(null, pgEnv('bench-b'));
    daemons.push(pgB);
    const sqlite = client(onSqlite);
    const pg = [client(pgA), client(pgB)];

    const bodies = Array.from({ length: 64 }, () => pngBytes(200 * 1024));
    const body = (i: number) => bodies[i % bodies.length]!;
    note(`catalog.pg.store.200k.c16: two daemons on one PostgreSQL (${STORE_IN_FLIGHT} in flight, split between them) vs store.200k.c16 on SQLite, ${PAIRS} alternating pairs`);
    const sqliteStores = new LatencyRecorder();
    const pgStores = new LatencyRecorder();
    const timing = { timeMs: 2000, warmupMs: 300, iterations: 2 };
    const stores = await interleaved(
      PAIRS,
      {
        name: 'store.200k.c16',
        callsPerRound: STORES_PER_ROUND,
        round: () => concurrentRound(STORES_PER_ROUND, STORE_IN_FLIGHT, (i) => sqlite.storePhoto(body(i), { originalName: `s${i}.png`, clientId: 'bench' }), sqliteStores),
        onPhase: sqliteStores.phase,
      },
      {
        name: 'catalog.pg.store.200k.c16',
        callsPerRound: STORES_PER_ROUND,
        // Lanes alternate daemons, so each has half of the calls in flight.
        round: () => concurrentRound(STORES_PER_ROUND, STORE_IN_FLIGHT, (i) => pg[i % 2]!.storePhoto(body(i), { originalName: `p${i}.png`, clientId: 'bench' }), pgStores),
        onPhase: pgStores.phase,
      },
      timing,
    );
    report({
      bench: 'catalog.pg.store.200k.c16',
      value: stores.subject,
      unit: 'ops/s',
      p99_ms: percentile(pgStores.values, 99),
      runs: stores.subjectRuns.map(Math.round),
      baseline: 'store.200k.c16 (SQLite)',
      baseline_value: stores.baseline,
      baseline_p99_ms: Number(percentile(sqliteStores.values, 99).toFixed(3)),
      baseline_runs: stores.baselineRuns.map(Math.round),
    });

    // 1000 photos on each side, so neither is measuring a handful of hot rows.
    const small = pngBytes(4096);
    const sqliteIds: string[] = [];
    const pgIds: string[] = [];
    for (let i = 0; i < 1000; i++) {
      sqliteIds.push((await sqlite.storePhoto(small, { originalName: `g${i}.png`, clientId: 'bench' })).id);
      pgIds.push((await pg[i % 2]!.storePhoto(small, { originalName: `g${i}.png`, clientId: 'bench' })).id);
    }
    note(`catalog.pg.getPhoto: getPhoto through a daemon on PostgreSQL vs one on SQLite, ${GET_IN_FLIGHT} in flight, ${PAIRS} alternating pairs`);
    const sqliteGets = new LatencyRecorder();
    const pgGets = new LatencyRecorder();
    const gets = await interleaved(
      PAIRS,
      {
        name: 'sidecar.getPhoto (SQLite)',
        callsPerRound: GETS_PER_ROUND,
        round: () => concurrentRound(GETS_PER_ROUND, GET_IN_FLIGHT, (i) => sqlite.getPhoto(sqliteIds[i % sqliteIds.length]!), sqliteGets),
        onPhase: sqliteGets.phase,
      },
      {
        name: 'catalog.pg.getPhoto',
        callsPerRound: GETS_PER_ROUND,
        round: () => concurrentRound(GETS_PER_ROUND, GET_IN_FLIGHT, (i) => pg[0]!.getPhoto(pgIds[i % pgIds.length]!), pgGets),
        onPhase: pgGets.phase,
      },
      { timeMs: 2000, warmupMs: 300, iterations: 3 },
    );
    report({
      bench: 'catalog.pg.getPhoto',
      value: gets.subject,
      unit: 'ops/s',
      p99_ms: percentile(pgGets.values, 99),
      runs: gets.subjectRuns.map(Math.round),
      baseline: 'sidecar.getPhoto (SQLite)',
      baseline_value: gets.baseline,
      baseline_p99_ms: Number(percentile(sqliteGets.values, 99).toFixed(3)),
      baseline_runs: gets.baselineRuns.map(Math.round),
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const d of daemons.reverse()) await d.stop('SIGTERM');
    await catalog.close();
    await minio.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
