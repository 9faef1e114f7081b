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

/** One decimal for large figures, four significant digits for small ones: a 0.043 ms search must not print as 0. */
const figureOf = (n: number) => (Math.abs(n) >= 100 ? round(n, 1) : Number(n.toPrecision(4)));

export function report(figure: Figure): void {
  const ratio = figure.baseline_value ? round(figure.value / figure.baseline_value) : null;
  const line: Record<string, unknown> = { ...figure, value: figureOf(figure.value) };
  if (typeof figure.p99_ms === 'number') line.p99_ms = round(figure.p99_ms);
  if (figure.baseline_value !== null) line.baseline_value = figureOf(figure.baseline_value);
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
