// gateway.getPhoto: GET /photos/:id through the HTTP gateway with the remote
// client (undici, keep-alive), many calls in flight, against the same daemon
// process that the baseline, the sidecar's getPhoto over the Unix socket, is
// measured on in the same run. Rounds of the two alternate.

import { NO_CACHE } from './no-cache';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { concurrentRound } from './concurrent-round';
import { BENCH_CLIENT_ID, startGatewayBenchEnv } from './gateway-bench-env';
import { interleaved } from './interleaved';
import { note, percentile, report } from './report';

const IN_FLIGHT = 32;
const CALLS_PER_ROUND = 4096;
const PAIRS = 3;

export async function benchGatewayGet(): Promise<void> {
  // One connection per call in flight: HTTP/1.1 carries one request at a time on each.
  const env = await startGatewayBenchEnv(IN_FLIGHT);
  const sidecar = new StorageClient({ socketPath: env.daemon.socketPath, clientId: BENCH_CLIENT_ID, token: env.token, cacheConfig: NO_CACHE });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push((await sidecar.storePhoto(pngBytes(4096), { originalName: `g${i}.png`, clientId: BENCH_CLIENT_ID })).id);
    }
    note(`gateway.getPhoto: ${IN_FLIGHT} in flight, ${CALLS_PER_ROUND} calls a round, vs sidecar.getPhoto, ${PAIRS} alternating pairs`);
    const gatewayLatencies: number[] = [];
    const sidecarLatencies: number[] = [];
    const result = await interleaved(
      PAIRS,
      {
        name: 'sidecar.getPhoto',
        callsPerRound: CALLS_PER_ROUND,
        round: () => concurrentRound(CALLS_PER_ROUND, IN_FLIGHT, (i) => sidecar.getPhoto(ids[i % ids.length]!), sidecarLatencies),
      },
      {
        name: 'gateway.getPhoto',
        callsPerRound: CALLS_PER_ROUND,
        round: () => concurrentRound(CALLS_PER_ROUND, IN_FLIGHT, (i) => env.remote.getPhoto(ids[i % ids.length]!), gatewayLatencies),
      },
      { timeMs: 3000, warmupMs: 500 },
    );
    report({
      bench: 'gateway.getPhoto',
      value: result.subject,
      unit: 'ops/s',
      p99_ms: percentile(gatewayLatencies, 99),
      p50_ms: Number(percentile(gatewayLatencies, 50).toFixed(3)),
      in_flight: IN_FLIGHT,
      runs: result.subjectRuns.map(Math.round),
      baseline: 'sidecar.getPhoto',
      baseline_value: result.baseline,
      baseline_p99_ms: Number(percentile(sidecarLatencies, 99).toFixed(3)),
      baseline_runs: result.baselineRuns.map(Math.round),
    });
  } finally {
    await sidecar.close();
    await env.close();
  }
}
