// sidecar.getPhoto: getPhoto through the Unix socket from one client process
// (this one) with many calls in flight, against the daemon in its own process.

import { NO_CACHE } from './no-cache';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { concurrentRound } from './concurrent-round';
import { LatencyRecorder } from './latency-recorder';
import { note, percentile, report } from './report';
import { measureRounds } from './throughput';
import { loadAverage, watchCpuWait } from './cpu-wait';

// The first is the headline figure; the shallower one shows the latency floor.
const IN_FLIGHT = [32, 4];
const CALLS_PER_ROUND = 4096;

export async function benchSidecarGet(): Promise<void> {
  const env = await startBenchEnv();
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', cacheConfig: NO_CACHE });
  try {
    // 1000 photos, more than a burst touches at once, so the cache sees a realistic spread.
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push((await client.storePhoto(pngBytes(4096), { originalName: `g${i}.png`, clientId: 'bench' })).id);
    }
    for (const inFlight of IN_FLIGHT) {
      const name = inFlight === IN_FLIGHT[0] ? 'sidecar.getPhoto' : `sidecar.getPhoto.c${inFlight}`;
      note(`${name}: ${inFlight} in flight, ${CALLS_PER_ROUND} calls a round`);
      const latencies = new LatencyRecorder();
      const daemonWait = watchCpuWait(env.daemon.proc.pid!);
      const clientWait = watchCpuWait(process.pid);
      const { opsPerSec } = await measureRounds(name, CALLS_PER_ROUND, () =>
        concurrentRound(CALLS_PER_ROUND, inFlight, (i) => client.getPhoto(ids[i % ids.length]!), latencies),
        { onPhase: latencies.phase },
      );
      report({
        bench: name,
        value: opsPerSec,
        unit: 'ops/s',
        p99_ms: percentile(latencies.values, 99),
        p50_ms: Number(percentile(latencies.values, 50).toFixed(3)),
        in_flight: inFlight,
        // What the tail waits for on a shared machine: a core, for the daemon's main thread and for this client.
        daemon_main: daemonWait.stop(),
        client_main: clientWait.stop(),
        loadavg_1m: loadAverage(),
        baseline: 'none',
        baseline_value: null,
      });
    }
  } finally {
    await client.close();
    await env.close();
  }
}
