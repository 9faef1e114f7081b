// The daemon's figures in one place, for both of their readers: /metrics
// renders them as Prometheus gauges and the socket's `daemonStats` call
// (storagectl stats) answers them as one object, so the two never disagree
// about what a figure is. Everything is read at call time.

import type { DaemonStats } from '../../protocol/types';
import type { PhotoCatalog } from '../db/photo-catalog';
import type { SearchThreadStats } from '../search-threads/search-threads';
import { MetricRegistry } from './metric-registry';
import { gauge, type RuntimeMetrics } from './runtime-metrics';

export interface DaemonStatsSources {
  version: string;
  catalog: Pick<PhotoCatalog, 'bucketTotals' | 'writerStats'>;
  runtime: RuntimeMetrics;
  /** Open connections on each door; the doors are made after this object, hence functions. */
  socketConnections: () => number;
  httpConnections: () => number;
  /** performance.now() when the daemon began starting. */
  startedAt?: number;
  /** The SQLite catalog's search threads (none on PostgreSQL): read at each scrape. */
  searchThreads?: () => SearchThreadStats;
  /** Searches stopped at STORAGED_SEARCH_TIMEOUT_MS, on either engine. */
  searchesTimedOut?: () => number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class DaemonStatsSource extends MetricRegistry {
  readonly #sources: DaemonStatsSources;
  readonly #startedAt: number;
  /** What render() prints: the figures as of the last refresh() (the gateway refreshes right before each scrape). */
  #last: DaemonStats | null = null;

  constructor(sources: DaemonStatsSources) {
    super();
    this.#sources = sources;
    this.#startedAt = sources.startedAt ?? performance.now();
  }

  /** Reads the figures again for the next render(). */
  async refresh(): Promise<void> {
    this.#last = await this.snapshot();
  }

  async snapshot(): Promise<DaemonStats> {
    const { catalog, runtime, version } = this.#sources;
    const writer = catalog.writerStats();
    const { eventLoopDelayMs, pool } = runtime.snapshot();
    return {
      version,
      uptimeSeconds: Math.round((performance.now() - this.#startedAt) / 100) / 10,
      buckets: await catalog.bucketTotals(),
      writer: {
        transactions: writer.transactions,
        writes: writer.writes,
        failedWrites: writer.failedWrites,
        largestBatch: writer.largestBatch,
        meanBatch: writer.transactions === 0 ? 0 : Math.round((writer.writes / writer.transactions) * 100) / 100,
        queueDepth: writer.queueDepth ?? 0,
      },
      workers: { utilization: pool.utilization, threads: pool.threads, queueDepth: pool.queueDepth },
      eventLoopDelayMs,
      connections: { socket: this.#sources.socketConnections(), http: this.#sources.httpConnections() },
    };
  }

  /**
   * The figures RuntimeMetrics does not already render (event-loop delay and
   * the pool are its own; rendering them here too would register them twice).
   */
  override render(): string {
    const s = this.#last;
    if (s === null) return '';
    const perBucket = (name: string, help: string, pick: (b: DaemonStats['buckets'][number]) => number) =>
      `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${s.buckets.map((b) => `${name}{bucket="${escapeLabel(b.bucket)}"} ${pick(b)}\n`).join('')}`;
    return [
      perBucket('storaged_catalog_photos', 'Committed photos in the catalog, per bucket', (b) => b.photos),
      perBucket('storaged_catalog_bytes', 'Bytes of the committed photos in the catalog, per bucket', (b) => b.bytes),
      gauge('storaged_writer_transactions_total', 'SQLite writer transactions (one per batch)', s.writer.transactions, 'counter'),
      gauge('storaged_writer_writes_total', 'Writes the SQLite writer settled', s.writer.writes, 'counter'),
      gauge('storaged_writer_batch_largest', 'Most writes one writer transaction has committed', s.writer.largestBatch),
      gauge('storaged_writer_queue_depth', 'Writes waiting for the next writer batch', s.writer.queueDepth),
      `# HELP storaged_open_connections Connections open now, per door\n# TYPE storaged_open_connections gauge\nstoraged_open_connections{door="socket"} ${s.connections.socket}\nstoraged_open_connections{door="http"} ${s.connections.http}\n`,
      gauge('storaged_uptime_seconds', 'Seconds since the daemon started', s.uptimeSeconds),
      this.#renderSearchThreads(),
      this.#sources.searchesTimedOut === undefined
        ? ''
        : gauge('storaged_search_timed_out_total', 'Searches stopped at STORAGED_SEARCH_TIMEOUT_MS', this.#sources.searchesTimedOut(), 'counter'),
    ].join('');
  }

  #renderSearchThreads(): string {
    const search = this.#sources.searchThreads?.();
    if (search === undefined) return '';
    return [
      gauge('storaged_search_thread_searches_total', 'Searches run on the search threads', search.searches, 'counter'),
      gauge('storaged_search_threads', 'Search threads running now (started on demand, retired when idle)', search.threads),
      gauge('storaged_search_thread_running', 'Searches running on the search threads now', search.running),
      gauge('storaged_search_thread_waiting', 'Searches waiting for a search thread', search.waiting),
      gauge('storaged_search_threads_lost_total', 'Search threads terminated past the bound or lost to a crash', search.threadsLost, 'counter'),
    ].join('');
  }
}
