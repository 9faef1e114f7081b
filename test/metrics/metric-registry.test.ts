import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricRegistry } from '../../src/daemon/metrics/metric-registry';

test('counters render per label set with HELP and TYPE lines', () => {
  const registry = new MetricRegistry();
  const requests = registry.counter('http_requests_total', 'Requests', ['route', 'status']);
  requests.inc({ route: '/photos', status: '201' });
  requests.inc({ route: '/photos', status: '201' });
  requests.inc({ route: '/photos/:id', status: '404' }, 3);
  assert.equal(
    registry.render(),
    [
      '# HELP http_requests_total Requests',
      '# TYPE http_requests_total counter',
      'http_requests_total{route="/photos",status="201"} 2',
      'http_requests_total{route="/photos/:id",status="404"} 3',
      '',
    ].join('\n'),
  );
});

test('histograms render cumulative buckets, +Inf, sum and count', () => {
  const registry = new MetricRegistry();
  const sizes = registry.histogram('size_bytes', 'Sizes', ['bucket'], [10, 100]);
  for (const v of [5, 10, 50, 1000]) sizes.observe({ bucket: 'images' }, v);
  const text = registry.render();
  assert.match(text, /^size_bytes_bucket\{bucket="images",le="10"\} 2$/m);
  assert.match(text, /^size_bytes_bucket\{bucket="images",le="100"\} 3$/m);
  assert.match(text, /^size_bytes_bucket\{bucket="images",le="\+Inf"\} 4$/m);
  assert.match(text, /^size_bytes_sum\{bucket="images"\} 1065$/m);
  assert.match(text, /^size_bytes_count\{bucket="images"\} 4$/m);
  assert.equal(sizes.count({ bucket: 'images' }), 4);
});

test('label values are escaped so a value cannot break the exposition format', () => {
  const registry = new MetricRegistry();
  registry.counter('c_total', 'c', ['v']).inc({ v: 'a"b\\c\nd' });
  assert.match(registry.render(), /^c_total\{v="a\\"b\\\\c\\nd"\} 1$/m);
});

test('mistakes in use are refused with a message naming the metric', () => {
  const registry = new MetricRegistry();
  const c = registry.counter('x_total', 'x', ['route']);
  assert.throws(() => c.inc({}), /x_total needs the label 'route'/);
  assert.throws(() => c.inc({ route: 'a' }, -1), /can only go up/);
  assert.throws(() => registry.counter('x_total', 'again'), /registered twice/);
  assert.throws(() => registry.histogram('h', 'h', [], [2, 1]), /buckets must increase/);
  assert.throws(() => registry.histogram('h2', 'h', ['le'], [1]), /reserved/);
  assert.throws(() => registry.counter('bad name', 'x'), /not valid/);
});
