// Figures about the worker pool, kept as plain numbers for a later export
// (Prometheus text, a status call). One set per pool, found through the pool
// itself, so every task wrapper counts into it without being handed it.

import type { Piscina } from 'piscina';

export interface PoolMetricsSnapshot {
  /** 0..1: share of the threads' capacity spent running tasks since the pool started. */
  utilization: number;
  /** Tasks waiting for a thread. */
  queueDepth: number;
  threads: number;
  bytesHashed: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  /** Part transfers tried again after a transient failure. */
  partRetries: number;
  /** Multipart uploads aborted after a failure or a cancel. */
  uploadsAborted: number;
  /** Bytes that downloads have asked for or hold but not yet handed to a reader. */
  readAheadBytes: number;
  /** The most readAheadBytes has been since the pool started. */
  readAheadPeakBytes: number;
}

export class PoolMetrics {
  bytesHashed = 0;
  bytesUploaded = 0;
  bytesDownloaded = 0;
  partRetries = 0;
  uploadsAborted = 0;
  #readAheadBytes = 0;
  #readAheadPeakBytes = 0;

  constructor(readonly pool: Piscina) {}

  /** A download asked for (positive) or handed on (negative) this many bytes. */
  addReadAhead(bytes: number): void {
    this.#readAheadBytes += bytes;
    if (this.#readAheadBytes > this.#readAheadPeakBytes) this.#readAheadPeakBytes = this.#readAheadBytes;
  }

  get readAheadBytes(): number {
    return this.#readAheadBytes;
  }

  get readAheadPeakBytes(): number {
    return this.#readAheadPeakBytes;
  }

  snapshot(): PoolMetricsSnapshot {
    return {
      utilization: this.pool.utilization,
      queueDepth: this.pool.queueSize,
      threads: this.pool.threads.length,
      bytesHashed: this.bytesHashed,
      bytesUploaded: this.bytesUploaded,
      bytesDownloaded: this.bytesDownloaded,
      partRetries: this.partRetries,
      uploadsAborted: this.uploadsAborted,
      readAheadBytes: this.#readAheadBytes,
      readAheadPeakBytes: this.#readAheadPeakBytes,
    };
  }
}

const byPool = new WeakMap<Piscina, PoolMetrics>();

export function metricsOf(pool: Piscina): PoolMetrics {
  let metrics = byPool.get(pool);
  if (metrics === undefined) {
    metrics = new PoolMetrics(pool);
    byPool.set(pool, metrics);
  }
  return metrics;
}
