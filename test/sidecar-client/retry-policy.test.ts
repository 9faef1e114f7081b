// The retry policy on its own: which errors are tried again, how many times,
// the full-jitter back-off's bounds, the deadline, and the caller's signal.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClosedError, NotFoundError, RateLimitedError, TimeoutError, UnavailableError } from '../../src/protocol/errors';
import { RetryPolicy, resolveRetry, retryHintMs } from '../../src/sidecar-client/retry-policy';

function failing(errors: Error[], value = 'ok') {
  let calls = 0;
  const attempt = async (n: number) => {
    calls++;
    assert.equal(n, calls, 'tries are numbered from 1');
    const err = errors.shift();
    if (err !== undefined) throw err;
    return value;
  };
  return { attempt, calls: () => calls };
}

test('retryable errors are tried again until a try succeeds', async () => {
  const policy = new RetryPolicy({ retries: 3, minDelayMs: 1, maxDelayMs: 2 });
  const f = failing([new UnavailableError('down'), new TimeoutError('slow'), new ClosedError('lost')]);
  assert.equal(await policy.run(f.attempt, undefined), 'ok');
  assert.equal(f.calls(), 4);
});

test('an error that is not retryable ends it at once', async () => {
  const policy = new RetryPolicy({ retries: 5, minDelayMs: 1 });
  const f = failing([new NotFoundError('no'), new Error('unreached')]);
  await assert.rejects(policy.run(f.attempt, undefined), NotFoundError);
  assert.equal(f.calls(), 1);
  const g = failing([new TypeError('a bug')]);
  await assert.rejects(policy.run(g.attempt, undefined), TypeError);
  assert.equal(g.calls(), 1);
});

test('tries are bounded: retries + 1 in all, then the last error', async () => {
  const policy = new RetryPolicy({ retries: 2, minDelayMs: 1, maxDelayMs: 1 });
  const last = new UnavailableError('third');
  const f = failing([new UnavailableError('first'), new UnavailableError('second'), last, new UnavailableError('unreached')]);
  await assert.rejects(policy.run(f.attempt, undefined), (err) => err === last);
  assert.equal(f.calls(), 3);
});

test('mayRetry false (a closed client, a stream body) makes one try', async () => {
  const policy = new RetryPolicy({ retries: 5, minDelayMs: 1 });
  const f = failing([new UnavailableError('down')]);
  await assert.rejects(policy.run(f.attempt, undefined, () => false), UnavailableError);
  assert.equal(f.calls(), 1);
});

test('full jitter: each wait lies in [0, min(max, min × 2^(n-1))), drawn from random()', () => {
  let r = 0.999999;
  const policy = new RetryPolicy({ retries: 10, minDelayMs: 100, maxDelayMs: 1000, random: () => r });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => policy.backoffMs(n)), [99, 199, 399, 799, 999, 999]);
  r = 0;
  assert.deepEqual([1, 2, 3].map((n) => policy.backoffMs(n)), [0, 0, 0]);
  r = 0.5;
  assert.equal(policy.backoffMs(3), 200);
});

test('no try begins past the deadline', async () => {
  // Each wait is 50 ms (random() near 1, bound 50): a 120 ms deadline admits two retries at most.
  const policy = new RetryPolicy({ retries: 100, minDelayMs: 51, maxDelayMs: 51, deadlineMs: 120, random: () => 0.99 });
  const f = failing(Array.from({ length: 100 }, () => new UnavailableError('down')));
  const started = performance.now();
  await assert.rejects(policy.run(f.attempt, undefined), UnavailableError);
  assert.ok(f.calls() >= 2 && f.calls() <= 3, `${f.calls()} tries`);
  assert.ok(performance.now() - started < 1000);
});

test('the caller\'s signal ends the wait between tries with its reason', async () => {
  const policy = new RetryPolicy({ retries: 3, minDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 3_600_000, random: () => 0.5 });
  const controller = new AbortController();
  const f = failing([new UnavailableError('down')]);
  const running = policy.run(f.attempt, controller.signal);
  setTimeout(() => controller.abort(new Error('the caller gave up')), 20);
  await assert.rejects(running, /the caller gave up/);
  assert.equal(f.calls(), 1);
});

test('a daemon\'s retryAfterSeconds holds the next try back that long, however short the back-off', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const policy = new RetryPolicy({ retries: 3, minDelayMs: 1, maxDelayMs: 1, deadlineMs: 60_000 });
  const f = failing([new RateLimitedError('slow down', { details: { retryAfterSeconds: 2 } })]);
  const running = policy.run(f.attempt, undefined);
  await settle();
  assert.equal(f.calls(), 1);
  t.mock.timers.tick(1999);
  await settle();
  assert.equal(f.calls(), 1, 'no second try before the daemon\'s 2 s');
  t.mock.timers.tick(1);
  assert.equal(await running, 'ok');
  assert.equal(f.calls(), 2);
});

test('a hint past the deadline returns the error at once instead of waiting in vain', async () => {
  const policy = new RetryPolicy({ retries: 3, minDelayMs: 1, maxDelayMs: 1, deadlineMs: 5_000 });
  const refusal = new UnavailableError('memory budget full', { details: { retryAfterSeconds: 30 } });
  const f = failing([refusal]);
  const started = performance.now();
  await assert.rejects(policy.run(f.attempt, undefined), (err) => err === refusal);
  assert.equal(f.calls(), 1);
  assert.ok(performance.now() - started < 1_000, 'it did not sleep');
});

test('hints that are missing or nonsense leave the back-off alone', () => {
  assert.equal(retryHintMs(new RateLimitedError('x', { details: { retryAfterSeconds: 1.5 } })), 1500);
  for (const bad of [undefined, -1, 0, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
    assert.equal(retryHintMs(new UnavailableError('x', { details: { retryAfterSeconds: bad } })), 0, String(bad));
  }
  assert.equal(retryHintMs(new UnavailableError('x')), 0);
  assert.equal(retryHintMs(new Error('not ours')), 0);
  assert.equal(retryHintMs(new RateLimitedError('x', { details: { retryAfterSeconds: 1e9 } })), 3_600_000, 'a day-long hint is capped at an hour');
});

/** Lets the policy's promise chain reach its next timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

test('bad settings are refused with what was expected; false turns retries off', () => {
  assert.equal(resolveRetry(false).retries, 0);
  assert.deepEqual({ ...resolveRetry(undefined), random: null }, { retries: 3, minDelayMs: 100, maxDelayMs: 2000, deadlineMs: 15_000, random: null });
  assert.throws(() => resolveRetry({ retries: -1 }), /retry.retries must be a number between 0 and 100/);
  assert.throws(() => resolveRetry({ retries: 1.5 }), /retry.retries must be an integer/);
  assert.throws(() => resolveRetry({ minDelayMs: 500, maxDelayMs: 100 }), /must not be less than/);
  assert.throws(() => resolveRetry({ deadlineMs: Number.NaN }), RangeError);
  assert.throws(() => resolveRetry('often' as never), TypeError);
});
