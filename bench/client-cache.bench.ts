// client.cachedGet: getPhoto answered by the client's cache (subject) against
// the same calls through the sidecar with the cache off (baseline), same ids,
// same daemon, alternated over three pairs in this run.

import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { concurrentRound } from './concurrent-round';
import { interleaved } from './interleaved';
import { NO_CACHE } from './no-cache';
import { note, report } from './report';

const IN_FLIGHT = 32;
const CALLS_PER_ROUND = 4096;

export async function benchClientCachedGet(): Promise<void> {
  const env = await startBenchEnv();
  const uncached = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', cacheConfig: NO_CACHE });
  const cached = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await uncached.storePhoto(pngBytes(4096), { originalName: `c${i}.png`, clientId: 'bench' })).id);
    note(`client.cachedGet: ${IN_FLIGHT} in flight, ${ids.length} photos, cache vs sidecar, 3 alternating pairs`);
    const round = (client: StorageClient) => () => concurrentRound(CALLS_PER_ROUND, IN_FLIGHT, (i) => client.getPhoto(ids[i % ids.length]!));
    const result = await interleaved(
      3,
      { name: 'sidecar.getPhoto (no cache)', callsPerRound: CALLS_PER_ROUND, round: round(uncached) },
      { name: 'client.cachedGet', callsPerRound: CALLS_PER_ROUND, round: round(cached) },
      { timeMs: 2000, warmupMs: 300 },
    );
    report({
      bench: 'client.cachedGet',
      value: result.subject,
      unit: 'ops/s',
      baseline: 'getPhoto through the sidecar, cache off',
      baseline_value: result.baseline,
      hit_ratio: Number((cached.cacheStats().hits / Math.max(1, cached.cacheStats().hits + cached.cacheStats().misses)).toFixed(4)),
    });
  } finally {
    await cached.close();
    await uncached.close();
    await env.close();
  }
}

/**
 * client.directUrl: getPhotoUrl signed in the client from the cached bucket
 * and key (minioConfig) against the same calls asked of the daemon, each call
 * with its own expiry so that no URL comes from the cache.
 */
export async function benchClientDirectUrl(): Promise<void> {
  const env = await startBenchEnv();
  const { minio } = env;
  const minioConfig = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey };
  const asking = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', cacheConfig: NO_CACHE });
  const signing = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', minioConfig });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await asking.storePhoto(pngBytes(4096), { originalName: `u${i}.png`, clientId: 'bench' })).id);
    for (const id of ids) await signing.getPhoto(id);
    note(`client.directUrl: ${IN_FLIGHT} in flight, signed in the client vs asked of the daemon, 3 alternating pairs`);
    const round = (client: StorageClient) => () =>
      concurrentRound(CALLS_PER_ROUND, IN_FLIGHT, (i) => client.getPhotoUrl(ids[i % ids.length]!, 60 + (i % 3000)));
    const result = await interleaved(
      3,
      { name: 'getPhotoUrl asked of the daemon', callsPerRound: CALLS_PER_ROUND, round: round(asking) },
      { name: 'client.directUrl', callsPerRound: CALLS_PER_ROUND, round: round(signing) },
      { timeMs: 2000, warmupMs: 300 },
    );
    report({ bench: 'client.directUrl', value: result.subject, unit: 'ops/s', baseline: 'getPhotoUrl asked of the daemon (sidecar)', baseline_value: result.baseline });
  } finally {
    await signing.close();
    await asking.close();
    await env.close();
  }
}
