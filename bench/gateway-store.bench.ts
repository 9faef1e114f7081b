// gateway.store.*: storePhoto through the HTTP gateway with the remote client
// (raw body, streamed), against the minio client's own putObject of the same
// bodies to the same MinIO from this same process, alternated in this run.
//   gateway.store.200k.c16: 200 KB images, 16 in flight (target ratio 0.7)
//   gateway.store.64m:      64 MiB images, one at a time  (target ratio 0.85)

import { pngBytes } from '../test/support/image-bytes';
import { concurrentRound } from './concurrent-round';
import { LatencyRecorder } from './latency-recorder';
import { BENCH_CLIENT_ID, startGatewayBenchEnv, type GatewayBenchEnv } from './gateway-bench-env';
import { interleaved } from './interleaved';
import { note, percentile, report } from './report';

const PAIRS = 3;
const MIB = 1024 * 1024;

interface StoreCase {
  bench: string;
  bodyBytes: number;
  bodies: number;
  inFlight: number;
  perRound: number;
  timing: { timeMs: number; warmupMs: number; iterations: number };
  /** Figures in MB/s instead of stores/s, where one store is a large transfer. */
  perMegabyte: boolean;
}

async function measureStore(env: GatewayBenchEnv, spec: StoreCase): Promise<void> {
  const bodies = Array.from({ length: spec.bodies }, () => pngBytes(spec.bodyBytes));
  const body = (i: number) => bodies[i % bodies.length]!;
  const bucket = `baseline-${spec.bench.replace(/\W/g, '-')}`;
  await env.minio.client.makeBucket(bucket);
  note(`${spec.bench}: storePhoto through the gateway vs minio putObject, ${spec.inFlight} in flight, ${PAIRS} alternating pairs`);
  let n = 0;
  const latencies = new LatencyRecorder();
  const result = await interleaved(
    PAIRS,
    {
      name: 'minio.putObject',
      callsPerRound: spec.perRound,
      round: () =>
        concurrentRound(spec.perRound, spec.inFlight, (i) =>
          env.minio.client.putObject(bucket, `b/${n++}.png`, body(i), body(i).length, { 'Content-Type': 'image/png' }),
        ),
    },
    {
      name: spec.bench,
      callsPerRound: spec.perRound,
      round: () =>
        concurrentRound(
          spec.perRound,
          spec.inFlight,
          (i) => env.remote.storePhoto(body(i), { originalName: `s${i}.png`, contentType: 'image/png', clientId: BENCH_CLIENT_ID }),
          latencies,
        ),
      onPhase: latencies.phase,
    },
    spec.timing,
  );
  const scale = spec.perMegabyte ? spec.bodyBytes / MIB : 1;
  report({
    bench: spec.bench,
    value: result.subject * scale,
    unit: spec.perMegabyte ? 'MiB/s' : 'ops/s',
    p99_ms: percentile(latencies.values, 99),
    in_flight: spec.inFlight,
    runs: result.subjectRuns.map((r) => Math.round(r * scale)),
    baseline: 'minio.putObject',
    baseline_value: result.baseline * scale,
    baseline_runs: result.baselineRuns.map((r) => Math.round(r * scale)),
  });
}

const STORE_200K: StoreCase = {
  bench: 'gateway.store.200k.c16',
  bodyBytes: 200 * 1024,
  bodies: 64,
  inFlight: 16,
  // Rounds long enough that ramping down at their end (fewer than 16 in flight) is a small share.
  perRound: 1024,
  timing: { timeMs: 2000, warmupMs: 300, iterations: 2 },
  perMegabyte: false,
};

const STORE_64M: StoreCase = {
  bench: 'gateway.store.64m',
  bodyBytes: 64 * MIB,
  bodies: 2,
  inFlight: 1,
  perRound: 2,
  timing: { timeMs: 4000, warmupMs: 500, iterations: 3 },
  perMegabyte: true,
};

export async function benchGatewayStore200k(): Promise<void> {
  const env = await startGatewayBenchEnv(STORE_200K.inFlight);
  try {
    await measureStore(env, STORE_200K);
  } finally {
    await env.close();
  }
}

export async function benchGatewayStore64m(): Promise<void> {
  // The default 50 MB body limit would refuse these bodies.
  const env = await startGatewayBenchEnv(STORE_64M.inFlight, { STORAGED_MAX_BODY_BYTES: String(128 * MIB) });
  try {
    await measureStore(env, STORE_64M);
  } finally {
    await env.close();
  }
}
