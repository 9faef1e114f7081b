// Gauges read at scrape time: the event loop's delay and the worker pool's
// state, so an operator sees whether big transfers crowd out small calls;
// and the daemon's own memory (process.memoryUsage covers the worker
// threads' isolates in rss only), its slot pools and its memory budget, so
// an operator sees what the budget holds against what the process holds.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Piscina } from 'piscina';
import { metricsOf, type PoolMetricsSnapshot } from '../workers/pool-metrics';
import { MetricRegistry } from './metric-registry';
import { lentPartSlots, lentSmallPartSlots, madePartSlots, sparePartSlots, spareSmallPartSlots } from '../blobs/read-in-parts';
import { lentFrameSlots, madeFrameSlots, spareFrameSlots } from '../memory/upload-frames';
import type { MemoryBudget } from '../memory/memory-budget';

export function gauge(name: string, help: string, value: number, type: 'gauge' | 'counter' = 'gauge'): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${Number.isFinite(value) ? value : 0}\n`;
}

export interface RuntimeSnapshot {
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  pool: PoolMetricsSnapshot;
}

export class RuntimeMetrics extends MetricRegistry {
  readonly #loop: IntervalHistogram;

  constructor(
    private readonly pool: Piscina,
    private readonly budget?: MemoryBudget,
  ) {
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
      ...this.#memory(),
    ].join('');
    this.#loop.reset();
    return text;
  }

  #memory(): string[] {
    const m = process.memoryUsage();
    const made = madePartSlots();
    const lines = [
      gauge('storaged_memory_rss_bytes', 'Resident memory of the daemon process, worker threads included', m.rss),
      gauge('storaged_memory_heap_used_bytes', 'V8 heap in use on the main thread', m.heapUsed),
      gauge('storaged_memory_heap_total_bytes', 'V8 heap reserved on the main thread', m.heapTotal),
      gauge('storaged_memory_external_bytes', 'Memory of C++ objects bound to JavaScript ones (buffers included)', m.external),
      gauge('storaged_memory_array_buffers_bytes', 'Memory of ArrayBuffers and SharedArrayBuffers (part and frame slots included)', m.arrayBuffers),
      gauge('storaged_part_slots_lent', 'Download part slots (2 MiB) lent to downloads', lentPartSlots()),
      gauge('storaged_part_slots_spare', 'Download part slots kept for reuse', sparePartSlots()),
      gauge('storaged_small_part_slots_lent', 'Download part slots (256 KiB, for parts that small) lent to downloads', lentSmallPartSlots()),
      gauge('storaged_small_part_slots_spare', 'Small download part slots kept for reuse', spareSmallPartSlots()),
      gauge('storaged_frame_slots_lent', 'Upload frame slots lent to socket stores', lentFrameSlots()),
      gauge('storaged_frame_slots_spare', 'Upload frame slots kept for reuse', spareFrameSlots()),
      gauge('storaged_part_slots_made_total', 'Download part slots (2 MiB) made because none was spare', made.parts, 'counter'),
      gauge('storaged_small_part_slots_made_total', 'Small download part slots made because none was spare', made.small, 'counter'),
      gauge('storaged_frame_slots_made_total', 'Upload frame slots made because none was spare', madeFrameSlots(), 'counter'),
    ];
    if (this.budget !== undefined) {
      const b = this.budget.figures();
      lines.push(
        gauge('storaged_memory_budget_bytes', 'The memory budget (STORAGED_MEMORY_BUDGET_MB)', b.limitBytes),
        gauge('storaged_memory_budget_in_use_bytes', 'Bytes of the budget held by transfers now', b.inUseBytes),
        gauge('storaged_memory_budget_spare_bytes', 'Bytes of the budget held by slots kept spare for reuse (dropped to make room, or when idle)', b.spareBytes),
        gauge('storaged_memory_budget_peak_bytes', 'Most bytes of the budget held at once since start, by transfers and spare slots', b.peakInUseBytes),
        gauge('storaged_memory_budget_waiting', 'Transfers waiting for memory now', b.waiting),
        gauge('storaged_memory_budget_waited_total', 'Transfers that had to wait for memory', b.waitedTotal, 'counter'),
        gauge('storaged_memory_budget_refused_total', 'Transfers refused with UNAVAILABLE for want of memory', b.refusedTotal, 'counter'),
      );
    }
    return lines;
  }

  stop(): void {
    this.#loop.disable();
  }
}
