// A small Prometheus text-format registry: counters and fixed-bucket
// histograms with labels. Enough for /metrics without a dependency; label
// values are escaped, and label sets are bounded by the callers (route
// templates, status codes, bucket names: never ids or user input).

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i]!)}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

interface Metric {
  render(): string;
}

abstract class Family<Series> implements Metric {
  readonly #series = new Map<string, { values: string[]; series: Series }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new RangeError(`metric name '${name}' is not valid`);
  }

  protected series(labels: Labels): Series {
    const values = this.labelNames.map((label) => {
      const value = labels[label];
      if (value === undefined) throw new RangeError(`metric ${this.name} needs the label '${label}'`);
      return value;
    });
    const key = values.join('\u0000');
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { values, series: this.create() };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  protected abstract create(): Series;
  protected abstract lines(values: string[], series: Series): string[];
  protected abstract readonly type: string;

  render(): string {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, series } of this.#series.values()) out.push(...this.lines(values, series));
    return out.join('\n');
  }
}

export class Counter extends Family<{ value: number }> {
  protected readonly type = 'counter';

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} can only go up, got ${by}`);
    this.series(labels).value += by;
  }

  /** The current value of one series (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.series(labels).value;
  }

  protected create() {
    return { value: 0 };
  }

  protected lines(values: string[], series: { value: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatNumber(series.value)}`];
  }
}

interface HistogramSeries {
  /** Per bucket, not cumulative; rendered cumulatively. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramSeries> {
  protected readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new RangeError('"le" is reserved for histogram buckets');
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new RangeError(`histogram ${name}: buckets must increase`);
    }
  }

  observe(labels: Labels, value: number): void {
    const series = this.series(labels);
    let index = this.buckets.findIndex((upper) => value <= upper);
    if (index === -1) index = this.buckets.length;
    series.counts[index]!++;
    series.sum += value;
    series.count++;
  }

  /** How many observations one series has (0 when none). */
  count(labels: Labels = {}): number {
    return this.series(labels).count;
  }

  protected create(): HistogramSeries {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected lines(values: string[], series: HistogramSeries): string[] {
    const out: string[] = [];
    let cumulative = 0;
    [...this.buckets, Infinity].forEach((upper, i) => {
      cumulative += series.counts[i]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', formatNumber(upper)])} ${cumulative}`);
    });
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(series.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${series.count}`);
    return out;
  }
}

export class MetricRegistry {
  readonly #metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(name, new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.#add(name, new Histogram(name, help, labelNames, buckets));
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    return `${[...this.#metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }

  #add<M extends Metric>(name: string, metric: M): M {
    if (this.#metrics.has(name)) throw new RangeError(`metric ${name} is registered twice`);
    this.#metrics.set(name, metric);
    return metric;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
