// sidecar.getPhoto: getPhoto through the Unix socket from one client process
// (this one) with many calls in flight, against the daemon in its own process.

import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { concurrentRound } from './concurrent-round';
import { note, percentile, report } from './report';
import { measureRounds } from './throughput';

const IN_FLIGHT = 64;
const CALLS_PER_ROUND = 4096;

export async function benchSidecarGet(): Promise<void> {
  const env = await startBenchEnv();
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      ids.push((await client.storePhoto(pngBytes(4096), { originalName: `g${i}.png`, clientId: 'bench' })).id);
    }
    note(`sidecar.getPhoto: ${IN_FLIGHT} in flight, ${CALLS_PER_ROUND} calls a round`);
    const latencies: number[] = [];
    const { opsPerSec } = await measureRounds('sidecar.getPhoto', CALLS_PER_ROUND, () =>
      concurrentRound(CALLS_PER_ROUND, IN_FLIGHT, (i) => client.getPhoto(ids[i % ids.length]!), latencies),
    );
    report({
      bench: 'sidecar.getPhoto',
      value: opsPerSec,
      unit: 'ops/s',
      p99_ms: percentile(latencies, 99),
      in_flight: IN_FLIGHT,
      baseline: 'none',
      baseline_value: null,
    });
  } finally {
    await client.close();
    await env.close();
  }
}
