// One JSON line per figure, in the shape DESIGN.md fixes, so tools can read them.

export interface Figure {
  bench: string;
  value: number;
  unit: string;
  p99_ms?: number;
  baseline: string;
  baseline_value: number | null;
  [extra: string]: unknown;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

export function report(figure: Figure): void {
  const ratio = figure.baseline_value ? round(figure.value / figure.baseline_value) : null;
  const line: Record<string, unknown> = { ...figure, value: round(figure.value, 1) };
  if (typeof figure.p99_ms === 'number') line.p99_ms = round(figure.p99_ms);
  if (figure.baseline_value !== null) line.baseline_value = round(figure.baseline_value, 1);
  line.ratio = ratio;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Progress for humans, on stderr so stdout stays parseable. */
export function note(text: string): void {
  process.stderr.write(`# ${text}\n`);
}

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
