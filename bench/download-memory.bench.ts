// gateway.download.200k.c16: whole 200 KB photos through GET
// /photos/:id/content, 16 in flight, against minio-js getObject of the same
// bytes from the same MinIO in the same run (alternated), with the daemon's
// peak resident memory over the gateway rounds (target ratio ≥ 0.8), and
// the CPU each download costs MinIO, the daemon and this client on both
// sides (cpu-per-call.ts): on two cores the ratio follows their sums.

import type { Readable } from 'node:stream';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { pngBytes } from '../test/support/image-bytes';
import { concurrentRound } from './concurrent-round';
import { CpuPerCall } from './cpu-per-call';
import { BENCH_CLIENT_ID, startGatewayBenchEnv } from './gateway-bench-env';
import { interleaved } from './interleaved';
import { LatencyRecorder } from './latency-recorder';
import { NO_CACHE } from './no-cache';
import { mib, openPeakWindow } from './peak-resident';
import { note, percentile, report } from './report';

const BODY_BYTES = 200 * 1024;
const OBJECTS = 64;
const IN_FLIGHT = 16;
const PER_ROUND = 512;
const PAIRS = 3;
const MB = 1e6;

/** Reads a body to its end and returns how many bytes it had. */
export async function drain(body: Readable | AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

export async function benchGatewayDownload200k(): Promise<void> {
  const env = await startGatewayBenchEnv(IN_FLIGHT);
  const sidecar = new StorageClient({ socketPath: env.daemon.socketPath, clientId: BENCH_CLIENT_ID, token: env.token, cacheConfig: NO_CACHE });
  try {
    const bucket = 'baseline-download';
    await env.minio.client.makeBucket(bucket);
    const ids: string[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      const body = pngBytes(BODY_BYTES);
      ids.push((await sidecar.storePhoto(body, { originalName: `d${i}.png`, clientId: BENCH_CLIENT_ID })).id);
      await env.minio.client.putObject(bucket, `d/${i}.png`, body, body.length, { 'Content-Type': 'image/png' });
    }
    note(`gateway.download.200k.c16: GET /photos/:id/content vs minio getObject, ${IN_FLIGHT} in flight, ${PAIRS} alternating pairs`);
    const pid = env.daemon.proc.pid!;
    const processes = { minio: env.minio.pid!, daemon: pid, client: 'self' as const };
    const baselineCpu = new CpuPerCall(processes);
    const gatewayCpu = new CpuPerCall(processes);
    const window = openPeakWindow(pid);
    const latencies = new LatencyRecorder();
    const result = await interleaved(
      PAIRS,
      {
        name: 'minio.getObject',
        callsPerRound: PER_ROUND,
        round: baselineCpu.wrap(
          () => concurrentRound(PER_ROUND, IN_FLIGHT, async (i) => drain(await env.minio.client.getObject(bucket, `d/${i % OBJECTS}.png`))),
          PER_ROUND,
        ),
      },
      {
        name: 'gateway.download.200k.c16',
        callsPerRound: PER_ROUND,
        round: gatewayCpu.wrap(
          () => concurrentRound(PER_ROUND, IN_FLIGHT, async (i) => drain((await env.remote.readPhoto(ids[i % OBJECTS]!)).body), latencies),
          PER_ROUND,
        ),
        onPhase: latencies.phase,
      },
      { timeMs: 3000, warmupMs: 300, iterations: 2 },
    );
    const perMb = BODY_BYTES / MB;
    report({
      bench: 'gateway.download.200k.c16',
      value: result.subject * perMb,
      unit: 'MB/s',
      p99_ms: percentile(latencies.values, 99),
      in_flight: IN_FLIGHT,
      runs: result.subjectRuns.map((r) => Math.round(r * perMb)),
      peak_rss_mib: mib(window.peakBytes()),
      idle_rss_mib: mib(window.idleBytes),
      baseline: 'minio.getObject',
      baseline_value: result.baseline * perMb,
      baseline_runs: result.baselineRuns.map((r) => Math.round(r * perMb)),
      cpu_us_per_download: gatewayCpu.perCall(),
      baseline_cpu_us_per_download: baselineCpu.perCall(),
    });
  } finally {
    await sidecar.close();
    await env.close();
  }
}
