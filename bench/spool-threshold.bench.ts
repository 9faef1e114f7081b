// spool.threshold.<size>: what STORAGED_SPOOL_THRESHOLD_BYTES trades. Bodies
// of one size are stored through the sidecar, IN_FLIGHT at a time, by two
// daemons on the same MinIO: one that keeps every body in memory (threshold
// above the size) and one that spools every body to disk (threshold 0), with
// the two alternated over PAIRS. Printed per size: the spooled path's MiB/s
// against the in-memory path's (the baseline), and each daemon's resident
// memory per store in flight (peak during the round above its idle RSS).

import { NO_CACHE } from './no-cache';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { daemonEnv } from '../test/support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../test/support/daemon-process';
import { jpegBytes } from '../test/support/image-bytes';
import { startMinio } from '../test/support/minio-server';
import { concurrentRound } from './concurrent-round';
import { median } from './interleaved';
import { note, report } from './report';
import { residentBytes, sampleResident } from './rss-sampler';
import { measureRounds } from './throughput';

const MIB = 1024 * 1024;
export const SPOOL_SIZES_MIB = [1, 2, 4, 8, 16, 32];
const IN_FLIGHT = 4;
const PAIRS = 3;

interface Side {
  name: 'in-memory' | 'spooled';
  daemon: DaemonProcess;
  client: StorageClient;
  idleRss: number;
}

async function startSide(name: Side['name'], root: string, minio: Awaited<ReturnType<typeof startMinio>>): Promise<Side> {
  const dir = fs.mkdtempSync(path.join(root, `${name}-`));
  const threshold = name === 'spooled' ? 0 : 2 * Math.max(...SPOOL_SIZES_MIB) * MIB;
  const daemon = await spawnDaemon(
    null,
    daemonEnv(dir, minio, { STORAGED_SPOOL_THRESHOLD_BYTES: String(threshold), STORAGED_MAX_BODY_BYTES: String(256 * MIB), LOG_LEVEL: 'info' }),
  );
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'bench', callTimeoutMs: 600_000, cacheConfig: NO_CACHE });
  // Warm both paths once, so the idle figure includes what any store leaves allocated for good.
  await client.storePhoto(jpegBytes(MIB), { originalName: 'warm.jpg', clientId: 'bench' });
  return { name, daemon, client, idleRss: residentBytes(daemon.proc.pid!) };
}

/** One measurement of one side: MiB/s and resident bytes per store in flight. */
async function measure(side: Side, body: Buffer): Promise<{ mibPerSec: number; perStoreBytes: number }> {
  const ids: string[] = [];
  const perRound = 2 * IN_FLIGHT;
  const sampler = sampleResident(side.daemon.proc.pid!);
  const { opsPerSec } = await measureRounds(
    `${side.name}.${body.length}`,
    perRound,
    () =>
      concurrentRound(perRound, IN_FLIGHT, async (i) => {
        ids.push((await side.client.storePhoto(body, { originalName: `b${i}.jpg`, clientId: 'bench', contentType: 'image/jpeg' })).id);
      }),
    { timeMs: 1500, warmupMs: 200, iterations: 2 },
  );
  const peak = sampler.stop();
  // Outside the timed rounds: keeps MinIO's disk from growing over the whole run.
  for (const id of ids) await side.client.deletePhoto(id);
  return { mibPerSec: (opsPerSec * body.length) / MIB, perStoreBytes: Math.max(0, peak - side.idleRss) / IN_FLIGHT };
}

export async function benchSpoolThreshold(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-spool-'));
  const minio = await startMinio();
  const sides: Side[] = [];
  try {
    sides.push(await startSide('in-memory', root, minio));
    sides.push(await startSide('spooled', root, minio));
    const [memory, spooled] = sides as [Side, Side];
    note(
      `spool.threshold: stores of 1-32 MiB, ${IN_FLIGHT} in flight, in memory vs spooled (daemons idle at ` +
        `${(memory.idleRss / MIB).toFixed(0)} / ${(spooled.idleRss / MIB).toFixed(0)} MiB RSS), ${PAIRS} alternating pairs`,
    );
    for (const sizeMib of SPOOL_SIZES_MIB) {
      const body = jpegBytes(sizeMib * MIB);
      const runs: Record<Side['name'], Array<{ mibPerSec: number; perStoreBytes: number }>> = { 'in-memory': [], spooled: [] };
      for (let pair = 0; pair < PAIRS; pair++) {
        // Alternate which side goes first, so neither always follows the other's garbage.
        const order = pair % 2 === 0 ? [memory, spooled] : [spooled, memory];
        for (const side of order) runs[side.name].push(await measure(side, body));
      }
      const mib = (bytes: number) => Number((bytes / MIB).toFixed(1));
      const speed = (name: Side['name']) => runs[name].map((r) => r.mibPerSec);
      const perStore = (name: Side['name']) => runs[name].map((r) => r.perStoreBytes);
      report({
        bench: `spool.threshold.${sizeMib}m`,
        value: median(speed('spooled')),
        unit: 'MiB/s',
        runs: speed('spooled').map(Math.round),
        rss_per_store_mib: mib(median(perStore('spooled'))),
        baseline: 'in-memory',
        baseline_value: median(speed('in-memory')),
        baseline_runs: speed('in-memory').map(Math.round),
        baseline_rss_per_store_mib: mib(median(perStore('in-memory'))),
        in_flight: IN_FLIGHT,
      });
    }
  } finally {
    for (const side of sides) {
      await side.client.close();
      await side.daemon.stop('SIGTERM');
    }
    await minio.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
