// store.200k.c16: storePhoto of 200 KB images with 16 in flight, against the
// minio client's own putObject of the same bodies to the same MinIO from this
// same process (the baseline), both measured here and now.

import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { concurrentRound } from './concurrent-round';
import { note, percentile, report } from './report';
import { measureRounds } from './throughput';

const IN_FLIGHT = 16;
const PER_ROUND = 64;

export async function benchStore200k(): Promise<void> {
  const env = await startBenchEnv();
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench' });
  try {
    const bodies = Array.from({ length: PER_ROUND }, () => pngBytes(200 * 1024));
    await env.minio.client.makeBucket('baseline');

    note(`store.200k.c16 baseline: minio putObject, ${IN_FLIGHT} in flight`);
    let n = 0;
    const base = await measureRounds('minio.putObject', PER_ROUND, () =>
      concurrentRound(PER_ROUND, IN_FLIGHT, (i) =>
        env.minio.client.putObject('baseline', `b/${n++}.png`, bodies[i]!, bodies[i]!.length, { 'Content-Type': 'image/png' }),
      ),
    );

    note(`store.200k.c16: storePhoto through the sidecar, ${IN_FLIGHT} in flight`);
    const latencies: number[] = [];
    const ours = await measureRounds(
      'store.200k.c16',
      PER_ROUND,
      () =>
        concurrentRound(
          PER_ROUND,
          IN_FLIGHT,
          (i) => client.storePhoto(bodies[i]!, { originalName: `s${i}.png`, clientId: 'bench' }),
          latencies,
        ),
    );
    report({
      bench: 'store.200k.c16',
      value: ours.opsPerSec,
      unit: 'ops/s',
      p99_ms: percentile(latencies, 99),
      baseline: 'minio.putObject',
      baseline_value: base.opsPerSec,
    });
  } finally {
    await client.close();
    await env.close();
  }
}
