import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetedSizes, MemoryBudget } from '../../src/daemon/memory/memory-budget';
import { intakeBytes, SPOOLING_BODY_BYTES } from '../../src/daemon/coordinator/photo-store';
import { CHUNK_BYTES } from '../../src/protocol/limits';
import { UnavailableError } from '../../src/protocol/errors';

const MIB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));

test('shares within the budget are granted at once and counted until released (once)', async () => {
  const budget = new MemoryBudget(10);
  const a = await budget.acquire(4);
  const b = budget.tryAcquire(6)!;
  assert.equal(budget.figures().inUseBytes, 10);
  assert.equal(budget.tryAcquire(1), null, 'nothing past the budget');
  a.release();
  a.release();
  assert.equal(budget.figures().inUseBytes, 6, 'a second release changes nothing');
  b.release();
  assert.deepEqual(budget.figures(), { limitBytes: 10, inUseBytes: 0, spareBytes: 0, peakInUseBytes: 10, waiting: 0, waitedTotal: 0, refusedTotal: 0 });
});

test('past the budget a share waits, and waiters are served in arrival order as memory comes back', async () => {
  const budget = new MemoryBudget(10);
  const held = await budget.acquire(8);
  const order: string[] = [];
  const big = budget.acquire(6).then((s) => (order.push('big'), s));
  const small = budget.acquire(1).then((s) => (order.push('small'), s));
  await tick();
  assert.deepEqual(order, [], 'the small one does not overtake the big one that came first');
  assert.equal(budget.figures().waiting, 2);
  held.release();
  const [bigShare, smallShare] = await Promise.all([big, small]);
  assert.deepEqual(order, ['big', 'small']);
  assert.equal(budget.figures().inUseBytes, 7);
  assert.equal(budget.figures().waitedTotal, 2);
  bigShare.release();
  smallShare.release();
});

test('a share larger than the whole budget is granted once nothing else is held', async () => {
  const budget = new MemoryBudget(10);
  const held = await budget.acquire(3);
  const huge = budget.acquire(100);
  await tick();
  assert.equal(budget.figures().waiting, 1);
  held.release();
  const share = await huge;
  assert.equal(share.bytes, 10);
  share.release();
});

test('a waiting share ends with the caller: the signal rejects it, and those behind it move up', async () => {
  const budget = new MemoryBudget(10);
  const held = await budget.acquire(6);
  const caller = new AbortController();
  const leaving = budget.acquire(8, caller.signal);
  const staying = budget.acquire(4);
  caller.abort(new Error('caller went away'));
  await assert.rejects(leaving, /caller went away/);
  const share = await staying;
  assert.equal(budget.figures().inUseBytes, 10);
  assert.equal(budget.figures().waiting, 0);
  share.release();
  held.release();
  await assert.rejects(budget.acquire(1, AbortSignal.abort(new Error('gone before'))), /gone before/);
});

test('a wait too long, or too many waiting, is a retryable UNAVAILABLE that says when to retry', async () => {
  const budget = new MemoryBudget(10, { maxWaitMs: 30, maxWaiters: 1 });
  const held = await budget.acquire(10);
  const waiting = budget.acquire(1);
  const refused = await budget.acquire(1).catch((err: unknown) => err);
  assert.ok(refused instanceof UnavailableError);
  assert.equal(refused.code, 'UNAVAILABLE');
  assert.equal(refused.retryable, true);
  assert.match(refused.message, /memory budget .* 1 transfers are already waiting/);
  assert.deepEqual(refused.details, { retryAfterSeconds: 1 });
  const timedOut = await waiting.catch((err: unknown) => err);
  assert.ok(timedOut instanceof UnavailableError);
  assert.match(timedOut.message, /no memory came free within 30 ms; retry in about 1 s/);
  assert.equal(budget.figures().refusedTotal, 2);
  held.release();
  assert.equal(budget.figures().inUseBytes, 0);
});

test('bad sizes are refused with RangeError', () => {
  assert.throws(() => new MemoryBudget(0), RangeError);
  assert.throws(() => new MemoryBudget(1.5), RangeError);
  const budget = new MemoryBudget(10);
  assert.throws(() => budget.tryAcquire(-1), /byte count ≥ 0, got -1/);
  assert.throws(() => budget.tryAcquire(Number.NaN), RangeError);
});

test('the sizes follow the budget: the measured defaults at 256 MiB, smaller below', () => {
  const configured = { spoolThresholdBytes: 4 * MIB, partConcurrency: 4 };
  assert.deepEqual(budgetedSizes(256 * MIB, configured), { spoolThresholdBytes: 4 * MIB, readAhead: 2, partConcurrency: 4, sparePartBytes: 256 * MIB, spareFrameBytes: Math.floor(12.8 * MIB) });
  assert.deepEqual(budgetedSizes(32 * MIB, configured), { spoolThresholdBytes: 512 * 1024, readAhead: 1, partConcurrency: 1, sparePartBytes: 32 * MIB, spareFrameBytes: Math.floor(1.6 * MIB) });
  assert.equal(budgetedSizes(4096 * MIB, configured).partConcurrency, 4, "the operator's own setting caps what a large budget allows");
});

test('#13 - a spooled store takes the share of the frames it may hold, not only 4.5x a small threshold', () => {
  const threshold = 768 * 1024; // a 48 MiB budget's
  // Window, spool queue and the write in flight: 18 frame slots of a chunk and its envelope.
  assert.equal(SPOOLING_BODY_BYTES, 18 * (CHUNK_BYTES + 256));
  assert.equal(intakeBytes(8 * MIB, threshold), SPOOLING_BODY_BYTES);
  assert.equal(intakeBytes(undefined, threshold), SPOOLING_BODY_BYTES, 'a body of unknown size may be spooled');
  assert.equal(intakeBytes(100_000, threshold), 450_000, 'a body kept in memory costs 4.5x its size');
  assert.equal(intakeBytes(undefined, 4 * MIB), 18 * MIB, "at the default threshold 4.5x it is more than the frames'");
});
