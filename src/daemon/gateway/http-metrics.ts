// Request counts and latencies by route template (never the raw path: ids
// would make a series per photo) and status.

import { MetricRegistry } from '../metrics/metric-registry';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class HttpMetrics {
  readonly registry = new MetricRegistry();
  readonly #requests = this.registry.counter('http_requests_total', 'HTTP requests answered, by route, method and status', [
    'route',
    'method',
    'status',
  ]);
  readonly #durations = this.registry.histogram(
    'http_request_duration_seconds',
    'Time from a request arriving to its response finishing, by route',
    ['route', 'method'],
    LATENCY_BUCKETS,
  );

  record(route: string, method: string, status: number, seconds: number): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#durations.observe({ route, method }, seconds);
  }

  requests(route: string, method: string, status: number): number {
    return this.#requests.get({ route, method, status: String(status) });
  }
}
