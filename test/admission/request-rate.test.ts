// STORAGED_GATEWAY_RATE's syntax, and the token buckets behind it, on a clock
// the test moves (the gateway's 429 is tested end to end in gateway-rate.test.ts).

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequestRate, RequestBuckets } from '../../src/daemon/admission/request-rate';

test('rates: per second, minute or hour, with an optional burst', () => {
  assert.equal(parseRequestRate('off'), null);
  assert.deepEqual(parseRequestRate('50/s'), { perSecond: 50, burst: 50 });
  assert.deepEqual(parseRequestRate('50/s,burst=200'), { perSecond: 50, burst: 200 });
  assert.deepEqual(parseRequestRate('600/min'), { perSecond: 10, burst: 10 });
  assert.deepEqual(parseRequestRate('36/h, burst = 3'), { perSecond: 0.01, burst: 3 });
  assert.deepEqual(parseRequestRate('0.5/s'), { perSecond: 0.5, burst: 1 }, 'a slow rate still lets one request through');
});

test('a rate that is not one is refused with what was expected', () => {
  for (const bad of ['50', '50/d', 'fast', '-1/s', '0/s', '50/s,burst=0', '50/s,burst=1.5', '50/s;burst=2', '2000000/s', '50/s,burst=2000001']) {
    assert.throws(() => parseRequestRate(bad), (err: Error) => {
      assert.match(err.message, /expected/, bad);
      assert.ok(err.message.includes(bad), `the message quotes '${bad}'`);
      return true;
    });
  }
});

test('a token gets its burst at once, then its rate; the wait is the whole seconds until the next request', () => {
  let now = 0;
  const buckets = new RequestBuckets({ perSecond: 2, burst: 3 }, () => now);
  assert.deepEqual([buckets.take(0), buckets.take(0), buckets.take(0)], [0, 0, 0]);
  assert.equal(buckets.take(0), 1, 'half a second to the next token rounds up to 1');
  now += 500;
  assert.equal(buckets.take(0), 0);
  assert.equal(buckets.take(0), 1);
  now += 10_000;
  assert.deepEqual([buckets.take(0), buckets.take(0), buckets.take(0), buckets.take(0)], [0, 0, 0, 1], 'idle time refills to the burst, no more');
});

test('each token has its own allowance', () => {
  const now = 0;
  const buckets = new RequestBuckets({ perSecond: 1, burst: 1 }, () => now);
  assert.equal(buckets.take(0), 0);
  assert.equal(buckets.take(0), 1);
  assert.equal(buckets.take(1), 0, 'token 1 is not charged for token 0');
});

test('a slow rate says how long to wait', () => {
  let now = 0;
  const buckets = new RequestBuckets({ perSecond: 1 / 60, burst: 1 }, () => now);
  assert.equal(buckets.take(7), 0);
  assert.equal(buckets.take(7), 60);
  now += 30_000;
  assert.equal(buckets.take(7), 30);
});
