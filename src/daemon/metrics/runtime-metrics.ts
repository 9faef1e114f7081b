// Gauges read at scrape time: the event loop's delay and the worker pool's
// state, so an operator sees whether big transfers crowd out small calls.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Piscina } from 'piscina';
import { metricsOf, type PoolMetricsSnapshot } from '../workers/pool-metrics';
import { MetricRegistry } from './metric-registry';

export function gauge(name: string, help: string, value: number, type: 'gauge' | 'counter' = 'gauge'): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${Number.isFinite(value) ? value : 0}\n`;
}

export interface RuntimeSnapshot {
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  pool: PoolMetricsSnapshot;
}

export class RuntimeMetrics extends MetricRegistry {
  readonly #loop: IntervalHistogram;

  constructor(private readonly pool: Piscina) {
    super();
    // Samples include the sampling interval itself, so keep it small: 1 ms.
    this.#loop = monitorEventLoopDelay({ resolution: 1 });
    this.#loop.enable();
  }

  /** The figures now, without starting a new window (storagectl stats reads them between scrapes). */
  snapshot(): RuntimeSnapshot {
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    return {
      eventLoopDelayMs: { p50: ms(this.#loop.percentile(50)), p99: ms(this.#loop.percentile(99)), max: ms(this.#loop.max) },
      pool: metricsOf(this.pool).snapshot(),
    };
  }

  /** Event-loop delay percentiles cover the time since the previous scrape. */
  override render(): string {
    const { eventLoopDelayMs: loop, pool } = this.snapshot();
    const text = [
      gauge('storaged_eventloop_delay_p50_ms', 'Event-loop delay median since the previous scrape', loop.p50),
      gauge('storaged_eventloop_delay_p99_ms', 'Event-loop delay p99 since the previous scrape', loop.p99),
      gauge('storaged_eventloop_delay_max_ms', 'Event-loop delay maximum since the previous scrape', loop.max),
      gauge('storaged_worker_utilization', 'Share of the worker pool busy (0-1)', pool.utilization),
      gauge('storaged_worker_queue_depth', 'Tasks waiting for a worker thread', pool.queueDepth),
      gauge('storaged_worker_threads', 'Worker threads running', pool.threads),
      gauge('storaged_bytes_hashed_total', 'Bytes hashed by the worker pool', pool.bytesHashed, 'counter'),
      gauge('storaged_bytes_uploaded_total', 'Bytes sent to MinIO in multipart parts', pool.bytesUploaded, 'counter'),
      gauge('storaged_bytes_downloaded_total', 'Bytes read from MinIO in parts', pool.bytesDownloaded, 'counter'),
      gauge('storaged_part_retries_total', 'Multipart parts retried after a transient failure', pool.partRetries, 'counter'),
    ].join('');
    this.#loop.reset();
    return text;
  }

  stop(): void {
    this.#loop.disable();
  }
}
