// What the coordinator counts, in the seed's metric names, kept in a
// Prometheus registry that the gateway's /metrics renders.

import { MetricRegistry } from '../metrics/metric-registry';

/** Photo sizes from 1 KiB to 1 GiB, by powers of four. */
const SIZE_BUCKETS = [1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824];
/** Store durations in seconds, from 5 ms (small body, local disk) to 2 minutes (a large body over a slow link). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class StoreMetrics {
  readonly registry = new MetricRegistry();
  readonly #stored = this.registry.counter('photos_stored_total', 'Photos stored and acknowledged', ['bucket']);
  readonly #failures = this.registry.counter('photos_store_errors_total', 'Stores that failed, by error code', ['code']);
  readonly #deleted = this.registry.counter('photos_deleted_total', 'Photos deleted');
  readonly #sizes = this.registry.histogram('photo_size_bytes', 'Size of stored photos in bytes', ['bucket'], SIZE_BUCKETS);
  readonly #durations = this.registry.histogram(
    'photo_upload_duration_seconds',
    'Time from the start of a store call to its acknowledgement, body transfer included',
    [],
    DURATION_BUCKETS,
  );

  recordStore(bucket: string, size: number, durationMs: number): void {
    this.#stored.inc({ bucket });
    this.#sizes.observe({ bucket }, size);
    this.#durations.observe({}, durationMs / 1000);
  }

  recordFailure(code: string): void {
    this.#failures.inc({ code });
  }

  recordDelete(): void {
    this.#deleted.inc();
  }

  /** Stores acknowledged into `bucket` so far. */
  storedIn(bucket: string): number {
    return this.#stored.get({ bucket });
  }

  /** Failed stores of one error code so far. */
  failures(code: string): number {
    return this.#failures.get({ code });
  }
}
