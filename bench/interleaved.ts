// This machine's speed drifts (shared cores, MinIO's own background work), so
// a baseline measured once and then the subject measured once compares two
// different moments. Alternating them over several pairs and taking each
// side's median makes the ratio compare like with like.

export async function interleaved(
  pairs: number,
  baseline: () => Promise<number>,
  subject: () => Promise<number>,
): Promise<{ baseline: number; subject: number; baselineRuns: number[]; subjectRuns: number[] }> {
  const baselineRuns: number[] = [];
  const subjectRuns: number[] = [];
  for (let i = 0; i < pairs; i++) {
    baselineRuns.push(await baseline());
    subjectRuns.push(await subject());
  }
  return { baseline: median(baselineRuns), subject: median(subjectRuns), baselineRuns, subjectRuns };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
