// memory.mixed: the daemon's peak resident memory (VmHWM, worker threads
// included) under 30 s of every kind of transfer at once, against its idle
// resident memory measured just before (target: peak ≤ 256 MiB, the default
// STORAGED_MEMORY_BUDGET_MB). Each stream's throughput is printed beside it,
// so a lower peak is never bought by a slower door:
//   16 gateway downloads of 200 KB   16 socket downloads of 200 KB
//    4 gateway stores of 200 KB        4 socket stores of 200 KB
//    1 gateway store of 64 MiB         1 socket store of 64 MiB

import { StorageClient } from '../src/sidecar-client/storage-client';
import type { PhotoStorage } from '../src/protocol/photo-storage';
import { pngBytes } from '../test/support/image-bytes';
import { drain } from './download-memory.bench';
import { BENCH_CLIENT_ID, startGatewayBenchEnv } from './gateway-bench-env';
import { NO_CACHE } from './no-cache';
import { mib, openPeakWindow } from './peak-resident';
import { note, report } from './report';

const MIB = 1024 * 1024;
const SMALL = 200 * 1024;
const LARGE = 64 * MIB;
const OBJECTS = 64;
const LOAD_MS = 30_000;
export const MEMORY_TARGET_MIB = 256;

interface Stream {
  name: string;
  lanes: number;
  bytesPerCall: number;
  call: (lane: number, i: number) => Promise<unknown>;
  calls: number;
}

export async function benchMemoryMixed(): Promise<void> {
  const env = await startGatewayBenchEnv(24, { STORAGED_MAX_BODY_BYTES: String(128 * MIB) });
  const sidecar = new StorageClient({ socketPath: env.daemon.socketPath, clientId: BENCH_CLIENT_ID, token: env.token, cacheConfig: NO_CACHE });
  try {
    const ids: string[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      ids.push((await sidecar.storePhoto(pngBytes(SMALL), { originalName: `m${i}.png`, clientId: BENCH_CLIENT_ID })).id);
    }
    const smallBodies = Array.from({ length: 8 }, () => pngBytes(SMALL));
    const largeBody = pngBytes(LARGE);
    const store = (door: PhotoStorage, body: Buffer, i: number) =>
      door.storePhoto(body, { originalName: `w${i}.png`, contentType: 'image/png', clientId: BENCH_CLIENT_ID });
    const streams: Stream[] = [
      { name: 'gateway.download.200k', lanes: 16, bytesPerCall: SMALL, calls: 0, call: async (_, i) => drain((await env.remote.readPhoto(ids[i % OBJECTS]!)).body) },
      { name: 'socket.download.200k', lanes: 16, bytesPerCall: SMALL, calls: 0, call: async (_, i) => drain((await sidecar.readPhoto(ids[i % OBJECTS]!)).body) },
      { name: 'gateway.store.200k', lanes: 4, bytesPerCall: SMALL, calls: 0, call: (lane, i) => store(env.remote, smallBodies[lane]!, i) },
      { name: 'socket.store.200k', lanes: 4, bytesPerCall: SMALL, calls: 0, call: (lane, i) => store(sidecar, smallBodies[lane + 4]!, i) },
      { name: 'gateway.store.64m', lanes: 1, bytesPerCall: LARGE, calls: 0, call: (_, i) => store(env.remote, largeBody, i) },
      { name: 'socket.store.64m', lanes: 1, bytesPerCall: LARGE, calls: 0, call: (_, i) => store(sidecar, largeBody, i) },
    ];
    note(`memory.mixed: ${LOAD_MS / 1000} s of ${streams.map((s) => `${s.lanes} ${s.name}`).join(', ')} at once`);
    const window = openPeakWindow(env.daemon.proc.pid!);
    let elapsedMs = 0;
    const { Bench } = await import('tinybench');
    // One iteration of one long task: the figure is the peak over a sustained load, not a rate of short rounds.
    const bench = new Bench({ name: 'memory.mixed', iterations: 1, time: 0, warmup: false });
    bench.add('memory.mixed', async () => {
      const started = performance.now();
      const until = started + LOAD_MS;
      let next = 0;
      await Promise.all(
        streams.flatMap((s) =>
          Array.from({ length: s.lanes }, async (_, lane) => {
            while (performance.now() < until) {
              await s.call(lane, next++);
              s.calls++;
            }
          }),
        ),
      );
      elapsedMs = performance.now() - started;
    });
    await bench.run();
    const result = bench.tasks[0]!.result;
    if (result.state === 'errored') throw result.error;
    const throughput: Record<string, number> = {};
    for (const s of streams) throughput[`${s.name}_mb_s`] = Number(((s.calls * s.bytesPerCall) / 1e6 / (elapsedMs / 1000)).toFixed(1));
    const peak = mib(window.peakBytes());
    report({
      bench: 'memory.mixed',
      value: peak,
      unit: 'MiB peak RSS',
      target_mib: MEMORY_TARGET_MIB,
      within_target: peak <= MEMORY_TARGET_MIB,
      seconds: Number((elapsedMs / 1000).toFixed(1)),
      ...throughput,
      baseline: 'idle RSS',
      baseline_value: mib(window.idleBytes),
    });
  } finally {
    await sidecar.close();
    await env.close();
  }
}
