// store.200k.c16: storePhoto of 200 KB images with 16 in flight, against the
// minio client's own putObject of the same bodies to the same MinIO from this
// same process (the baseline), alternated over several pairs in this run.

import { NO_CACHE } from './no-cache';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { concurrentRound } from './concurrent-round';
import { LatencyRecorder } from './latency-recorder';
import { note, percentile, report } from './report';
import { interleaved } from './interleaved';

const IN_FLIGHT = 16;
// Rounds long enough that ramping down at their end (fewer than 16 in flight) is a small share.
const PER_ROUND = 1024;
const PAIRS = 3;

export async function benchStore200k(): Promise<void> {
  const env = await startBenchEnv();
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', cacheConfig: NO_CACHE });
  try {
    const bodies = Array.from({ length: 64 }, () => pngBytes(200 * 1024));
    await env.minio.client.makeBucket('baseline');

    note(`store.200k.c16: storePhoto through the sidecar vs minio putObject, ${IN_FLIGHT} in flight, ${PAIRS} alternating pairs`);
    let n = 0;
    const latencies = new LatencyRecorder();
    // One round of 1024 is a few seconds: two rounds a measurement, after one warm-up round.
    const timing = { timeMs: 2000, warmupMs: 300, iterations: 2 };
    const body = (i: number) => bodies[i % bodies.length]!;
    const result = await interleaved(
      PAIRS,
      {
        name: 'minio.putObject',
        callsPerRound: PER_ROUND,
        round: () =>
          concurrentRound(PER_ROUND, IN_FLIGHT, (i) =>
            env.minio.client.putObject('baseline', `b/${n++}.png`, body(i), body(i).length, { 'Content-Type': 'image/png' }),
          ),
      },
      {
        name: 'store.200k.c16',
        callsPerRound: PER_ROUND,
        round: () =>
          concurrentRound(PER_ROUND, IN_FLIGHT, (i) => client.storePhoto(body(i), { originalName: `s${i}.png`, clientId: 'bench' }), latencies),
        onPhase: latencies.phase,
      },
      timing,
    );
    report({
      bench: 'store.200k.c16',
      value: result.subject,
      unit: 'ops/s',
      p99_ms: percentile(latencies.values, 99),
      runs: result.subjectRuns.map(Math.round),
      baseline: 'minio.putObject',
      baseline_value: result.baseline,
      baseline_runs: result.baselineRuns.map(Math.round),
    });
  } finally {
    await client.close();
    await env.close();
  }
}
