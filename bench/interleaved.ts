// This machine's speed drifts (shared cores, MinIO's own background work), so
// a baseline measured once and then the subject measured once compares two
// different moments. Alternating them over several pairs and taking each
// side's median makes the ratio compare like with like.

import type { BenchPhase } from './latency-recorder';
import { measureRounds } from './throughput';

export interface RoundSpec {
  name: string;
  callsPerRound: number;
  round: () => Promise<void>;
  /** Told when tinybench starts warming up or measuring this side (LatencyRecorder.phase). */
  onPhase?: (phase: BenchPhase) => void;
}

export async function interleaved(
  pairs: number,
  baseline: RoundSpec,
  subject: RoundSpec,
  timing: { timeMs: number; warmupMs: number; iterations?: number },
): Promise<{ baseline: number; subject: number; baselineRuns: number[]; subjectRuns: number[] }> {
  const baselineRuns: number[] = [];
  const subjectRuns: number[] = [];
  const rate = async (spec: RoundSpec) =>
    (await measureRounds(spec.name, spec.callsPerRound, spec.round, spec.onPhase === undefined ? timing : { ...timing, onPhase: spec.onPhase })).opsPerSec;
  for (let i = 0; i < pairs; i++) {
    baselineRuns.push(await rate(baseline));
    subjectRuns.push(await rate(subject));
  }
  return { baseline: median(baselineRuns), subject: median(subjectRuns), baselineRuns, subjectRuns };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
