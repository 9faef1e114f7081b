import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBudget, type MemoryShare } from '../../src/daemon/memory/memory-budget';
import { SlotPool } from '../../src/daemon/memory/slot-pool';

const KIB = 1024;
const tick = () => new Promise((r) => setImmediate(r));

/** Lends `n` slots of `pool`, each with its share of `budget`, and gives them all back: they stay spare. */
async function fillSpares(pool: SlotPool, budget: MemoryBudget, n: number): Promise<void> {
  const lent: Buffer[] = [];
  for (let i = 0; i < n; i++) lent.push(pool.take(await budget.acquire(pool.slotBytes, undefined, pool)));
  for (const slot of lent) pool.give(slot);
}

/** Gives back a slot lent without a share while shares hold all of `budget`: it is dropped, not kept. Returns it. */
function dropForWantOfRoom(pool: SlotPool, budget: MemoryBudget): Buffer {
  const frame = pool.take(null);
  const full = budget.tryAcquire(budget.limitBytes)!;
  pool.give(frame);
  assert.equal(pool.spareCount, 0, 'no room: dropped, not kept');
  full.release();
  return frame;
}

test('#13 - spare slots count in the memory budget, and are dropped to make room before a share waits', async () => {
  const budget = new MemoryBudget(8 * KIB);
  const pool = new SlotPool(KIB, 100);
  pool.countIn(budget);
  await fillSpares(pool, budget, 8);
  assert.equal(pool.spareCount, 8);
  assert.equal(budget.figures().inUseBytes, 0);
  assert.equal(budget.figures().spareBytes, 8 * KIB, 'the spare slots are held by the budget');

  // A share that needs the room gets it at once: the pool drops what it must, no more.
  const body = await budget.acquire(3 * KIB);
  assert.equal(budget.figures().waitedTotal, 0, 'nobody waited');
  assert.equal(pool.spareCount, 5);
  assert.deepEqual([budget.figures().inUseBytes, budget.figures().spareBytes], [3 * KIB, 5 * KIB]);
  const now = budget.tryAcquire(4 * KIB);
  assert.ok(now !== null, 'tryAcquire makes room too');
  assert.equal(pool.spareCount, 1);

  // A share for this pool's own slots takes a spare one rather than dropping it and making another.
  const spare = pool.take(null);
  pool.give(spare);
  const share = await budget.acquire(KIB, undefined, pool);
  assert.equal(pool.take(share).buffer, spare.buffer, 'the spare slot itself was lent');
  assert.deepEqual([budget.figures().inUseBytes, budget.figures().spareBytes], [8 * KIB, 0]);
  body.release();
  now.release();
  pool.countIn(null);
});

test('#13 - a slot given back is kept only while the budget has room for it, and waiters come first', async () => {
  const budget = new MemoryBudget(4 * KIB);
  const pool = new SlotPool(KIB, 100);
  pool.countIn(budget);

  // A slot lent without a share of its own (an upload frame) while shares hold the whole budget.
  dropForWantOfRoom(pool, budget);
  assert.equal(budget.figures().spareBytes, 0);

  // Shares of slots hold the budget and another share waits: the slot given back goes to the garbage collector.
  const lent: Buffer[] = [];
  for (let i = 0; i < 4; i++) lent.push(pool.take(await budget.acquire(KIB, undefined, pool)));
  const waiting = budget.acquire(KIB);
  pool.give(lent.pop()!);
  const granted = await waiting;
  assert.equal(pool.spareCount, 0, 'the room went to the waiting share');
  assert.deepEqual([budget.figures().inUseBytes, budget.figures().spareBytes], [4 * KIB, 0]);

  // A waiting share for this pool's slots gets the slot given back itself (no new one made, none dropped).
  const forSlot = budget.acquire(KIB, undefined, pool);
  const given = lent.pop()!;
  pool.give(given);
  assert.equal(pool.take(await forSlot).buffer, given.buffer, 'handed over');
  assert.deepEqual([budget.figures().inUseBytes, budget.figures().spareBytes], [4 * KIB, 0]);
  granted.release();
  pool.countIn(null);
});

test('#13 - a slot dropped for want of room is reused by the next take while it is not collected, instead of a new one', () => {
  const budget = new MemoryBudget(4 * KIB);
  const pool = new SlotPool(KIB, 100);
  pool.countIn(budget);
  const frame = dropForWantOfRoom(pool, budget);
  const made = pool.madeCount;
  // `frame` still refers to its memory here, so the garbage collector cannot have freed it.
  assert.equal(pool.take(null).buffer, frame.buffer, 'the dropped slot came back');
  assert.equal(pool.madeCount, made, 'no slot made');
  pool.countIn(null);
});

test('#13 - spare slots no take has needed for the idle time are dropped; a take keeps them', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const budget = new MemoryBudget(8 * KIB);
  const pool = new SlotPool(KIB, 100);
  pool.countIn(budget, 1000);
  const [a, b] = [pool.take(null), pool.take(null)];
  pool.give(a);
  pool.give(b);
  assert.equal(pool.spareCount, 2);
  t.mock.timers.tick(900);
  pool.give(pool.take(null));
  t.mock.timers.tick(900);
  assert.equal(pool.spareCount, 2, 'taken from 900 ms ago: still kept');
  t.mock.timers.tick(50);
  assert.equal(pool.spareCount, 2, 'idle for 950 ms');
  t.mock.timers.tick(50);
  assert.equal(pool.spareCount, 0, 'idle for the idle time: dropped');
  assert.equal(budget.figures().spareBytes, 0, 'and no longer counted');

  // Kept again after the next burst, and dropped again once idle.
  await fillSpares(pool, budget, 3);
  assert.equal(pool.spareCount, 3);
  t.mock.timers.tick(2000);
  assert.equal(pool.spareCount, 0);

  // Once the pool stops counting in the budget, no timer of it is left.
  await fillSpares(pool, budget, 1);
  pool.leave(budget);
  assert.equal(pool.spareCount, 0);
  assert.equal(budget.figures().spareBytes, 0);
});

/** mulberry32: a small seeded generator, so a failing sequence can be run again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('#13 - slots lent and kept spare never hold more than the budget, over random takes, gives and shares', async () => {
  for (const seed of [1, 2, 3, 13, 42]) {
    const random = seeded(seed);
    const limit = 64 * KIB;
    const budget = new MemoryBudget(limit, { maxWaitMs: 60_000 });
    const pools = [new SlotPool(KIB, 1000), new SlotPool(4 * KIB, 1000), new SlotPool(2 * KIB, 1000)];
    for (const pool of pools) pool.countIn(budget);
    // Every slot lent is paid for: by its own share, or (like an upload frame) by a share of its caller's.
    const lent: Array<{ pool: SlotPool; slot: Buffer; caller: MemoryShare | null }> = [];
    const bodies: MemoryShare[] = [];
    const pending: Promise<void>[] = [];
    const check = (step: number) => {
      const lentBytes = lent.reduce((sum, l) => sum + l.pool.slotBytes, 0);
      const spareBytes = pools.reduce((sum, p) => sum + p.spareCount * p.slotBytes, 0);
      const bodyBytes = bodies.reduce((sum, b) => sum + b.bytes, 0);
      const f = budget.figures();
      const where = `seed ${seed}, step ${step}`;
      assert.ok(lentBytes + spareBytes + bodyBytes <= limit, `${where}: ${lentBytes} lent + ${spareBytes} spare + ${bodyBytes} bodies`);
      assert.ok(f.inUseBytes + f.spareBytes <= limit, `${where}: the budget overdrawn`);
      assert.ok(f.spareBytes <= spareBytes, `${where}: the budget counts ${f.spareBytes} spare bytes of ${spareBytes}`);
    };
    for (let step = 0; step < 2000; step++) {
      const pool = pools[Math.floor(random() * pools.length)]!;
      const r = random();
      if (r < 0.35) {
        // A part: a share for one of the pool's slots, waiting if it must.
        pending.push(
          budget.acquire(pool.slotBytes, undefined, pool).then((share) => {
            lent.push({ pool, slot: pool.take(share), caller: null });
          }),
        );
      } else if (r < 0.45) {
        // A frame: the caller's share first, then a slot without one.
        const caller = budget.tryAcquire(pool.slotBytes);
        if (caller !== null) lent.push({ pool, slot: pool.take(null), caller });
      } else if (r < 0.55) {
        const body = budget.tryAcquire(Math.ceil(random() * 8 * KIB));
        if (body !== null) bodies.push(body);
      } else if (r < 0.6 && bodies.length > 0) {
        bodies.splice(Math.floor(random() * bodies.length), 1)[0]!.release();
      } else if (lent.length > 0) {
        const { pool: owner, slot, caller } = lent.splice(Math.floor(random() * lent.length), 1)[0]!;
        owner.give(slot);
        caller?.release();
      }
      check(step);
      if (random() < 0.2) {
        await tick();
        check(step);
      }
    }
    // Everything back: every waiter is served, and no share is left.
    while (lent.length > 0 || bodies.length > 0) {
      for (const { pool, slot, caller } of lent.splice(0)) {
        pool.give(slot);
        caller?.release();
      }
      for (const body of bodies.splice(0)) body.release();
      await tick();
    }
    await Promise.all(pending);
    for (const { pool, slot } of lent.splice(0)) pool.give(slot);
    check(-1);
    assert.equal(budget.figures().inUseBytes, 0, `seed ${seed}: every share came back`);
    for (const pool of pools) pool.countIn(null);
    assert.equal(budget.figures().spareBytes, 0);
  }
});
