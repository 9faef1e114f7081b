import type { BenchPhase } from './latency-recorder';

/**
 * Measures calls/s of a round of `callsPerRound` calls with tinybench (warm-up
 * included): the rate comes from tinybench's mean round time.
 */
export async function measureRounds(
  name: string,
  callsPerRound: number,
  round: () => Promise<void>,
  options: { timeMs?: number; warmupMs?: number; iterations?: number; onPhase?: (phase: BenchPhase) => void } = {},
): Promise<{ opsPerSec: number; rounds: number }> {
  // tinybench is ESM-only; a dynamic import keeps this CommonJS build honest about it.
  const { Bench } = await import('tinybench');
  const bench = new Bench({
    name,
    time: options.timeMs ?? 3000,
    warmupTime: options.warmupMs ?? 500,
    iterations: options.iterations ?? 3,
    warmupIterations: 1,
  });
  const onPhase = options.onPhase;
  bench.add(name, round, onPhase === undefined ? {} : { beforeAll: (mode) => onPhase(mode === 'warmup' ? 'warmup' : 'run') });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`benchmark ${name} ended in state ${result.state}`);
  return { opsPerSec: (callsPerRound * 1000) / result.latency.mean, rounds: result.latency.samplesCount };
}
