// Blocks of memory for bytes in transit (downloaded parts, upload chunk
// frames), lent out and given back once nothing reads them. A fresh
// ArrayBuffer per block would be garbage that V8 lets pile up to ~32 MiB per
// isolate before a scavenge frees it, and that counts against the old
// generation's limit meanwhile: it drove both the daemon's peak resident
// memory and its full collections while large bodies moved. The blocks are
// SharedArrayBuffers, so a worker thread can fill one in place.
//
// A slot may carry a share of the memory budget (memory-budget.ts), given
// back with the slot. A slot a reader drops instead of giving back returns
// its share when the garbage collector frees it: late, but never lost.
//
// Once the pool counts its spare slots in a budget (countIn), the budget
// holds them too: it may ask the pool to drop some to make room for a
// share, and a slot given back is kept only while the budget has room. Spare
// slots that no take has needed for idleMs are dropped, so that the daemon's
// memory goes back down after a burst instead of staying at its peak.
//
// A dropped slot is left to the garbage collector, which may take long to
// free it (a slot that lived long is in V8's old generation, and a worker
// that filled it holds a handle of its own). Until it does, a take that
// finds no spare slot reuses a dropped one rather than making another: in a
// flood past the budget, slots dropped to make room for other shares were
// otherwise garbage piling up beside the new ones that replaced them (163
// 2 MiB slots made instead of 24 in test/integration/memory-flood.test.ts,
// and the daemon's RSS grew by 304 MiB instead of 63-74). The budget does not count a
// dropped slot; the share of the take that reuses one does.

import type { MemoryBudget, MemoryShare, SpareHolder } from './memory-budget';

/** Spare slots are dropped after this long without a take from their pool. */
export const SPARE_IDLE_MS = 30_000;

export class SlotPool implements SpareHolder {
  readonly #spare: Buffer[] = [];
  /** Lent slots: only these may come back, and only once. Each maps to its budget share, if any. */
  readonly #lent = new WeakMap<ArrayBufferLike, MemoryShare | null>();
  readonly #dropped = new FinalizationRegistry<MemoryShare | null>((share) => {
    this.#lentCount--;
    share?.release();
  });
  /** Slots dropped and perhaps not yet collected, newest last: reused before a new one is made. */
  #released: WeakRef<ArrayBufferLike>[] = [];
  #lentCount = 0;
  #made = 0;
  #maxSpare: number;
  /** The budget that counts the spare slots, if any. */
  #budget: MemoryBudget | null = null;
  /** Spare slots set aside for shares the budget has granted (their bytes count in those shares, not as spare). */
  #reserved = 0;
  #idleMs = SPARE_IDLE_MS;
  #lastTake = 0;
  /** One timer for the pool, armed while it keeps spare slots. */
  #idleTimer: NodeJS.Timeout | null = null;

  /** `maxSpare` slots are kept for later use; more are left to the garbage collector. */
  constructor(
    readonly slotBytes: number,
    maxSpare: number,
  ) {
    this.#maxSpare = maxSpare;
  }

  /** Slots kept for reuse from now on (sized from the memory budget at start). */
  keepAtMost(maxSpare: number): void {
    this.#maxSpare = maxSpare;
    this.#drop(Math.max(0, this.#spare.length - maxSpare));
  }

  /**
   * Counts the spare slots in `budget` from now on (null: in none), and drops
   * them after `idleMs` without a take. The slots kept so far are dropped:
   * the budget they counted in (if any) is not this one.
   */
  countIn(budget: MemoryBudget | null, idleMs: number = SPARE_IDLE_MS): void {
    this.#budget?.removeSpareHolder(this);
    this.#dropAll();
    this.#budget = budget;
    this.#idleMs = idleMs;
    budget?.addSpareHolder(this);
  }

  /** Stops counting in `budget` (and drops the spare slots) if it is still the one counting them. */
  leave(budget: MemoryBudget): void {
    if (this.#budget === budget) this.countIn(null);
  }

  /** A slot of slotBytes, shared memory; its contents are stale. `share` goes back with it. */
  take(share: MemoryShare | null = null): Buffer {
    this.#lastTake = Date.now();
    const spare = this.#spare.pop();
    if (spare !== undefined) {
      // A slot set aside for a granted share is counted in that share already.
      if (this.#reserved > 0) this.#reserved--;
      else this.#budget?.forgetSpare(this.slotBytes);
    }
    const slot = spare ?? this.#reuse() ?? this.#make();
    this.#lent.set(slot.buffer, share);
    this.#lentCount++;
    this.#dropped.register(slot.buffer, share, slot.buffer);
    return slot;
  }

  /**
   * Gives back the slot that `bytes` views, if it is one of ours and still
   * lent; anything else is ignored, so a reader may offer every buffer it got.
   * Nothing may read or write the slot's memory afterwards.
   */
  give(bytes: Uint8Array): void {
    const memory = bytes.buffer;
    if (!this.#lent.has(memory) || memory.byteLength !== this.slotBytes) return;
    const share = this.#lent.get(memory)!;
    this.#lent.delete(memory);
    this.#lentCount--;
    this.#dropped.unregister(memory);
    if (this.#spare.length >= this.#maxSpare) {
      share?.release();
      this.#release(memory);
      return;
    }
    if (this.#budget === null) {
      share?.release();
      this.#spare.push(Buffer.from(memory));
      return;
    }
    // The budget decides: kept (counted as spare), lent to the first waiting share, or dropped.
    const outcome = this.#budget.keepSpare(this.slotBytes, share, this);
    if (outcome === 'dropped') {
      this.#release(memory);
      return;
    }
    if (outcome === 'lent') this.#reserved++;
    this.#spare.push(Buffer.from(memory));
    this.#armIdleTimer();
  }

  /** SpareHolder: drops spare slots (not those set aside) worth at least `bytes`. */
  dropSpare(bytes: number): number {
    const n = Math.min(this.#spare.length - this.#reserved, Math.ceil(bytes / this.slotBytes));
    for (const slot of this.#spare.splice(0, n)) this.#release(slot.buffer);
    return n * this.slotBytes;
  }

  /** SpareHolder: sets a spare slot aside for a share just granted, which take() then hands out. */
  reserveSpare(bytes: number): boolean {
    if (bytes !== this.slotBytes || this.#spare.length - this.#reserved <= 0) return false;
    this.#reserved++;
    return true;
  }

  /** Slots kept for reuse now (tests check that users give theirs back). */
  get spareCount(): number {
    return this.#spare.length;
  }

  /** Slots lent out and not yet given back (or collected). */
  get lentCount(): number {
    return this.#lentCount;
  }

  /** Slots made since start: against the takes, how often a take found no spare slot (churn the garbage collector pays for). */
  get madeCount(): number {
    return this.#made;
  }

  /** A dropped slot the garbage collector has not freed yet, if any. */
  #reuse(): Buffer | undefined {
    for (let ref = this.#released.pop(); ref !== undefined; ref = this.#released.pop()) {
      const memory = ref.deref();
      if (memory !== undefined) return Buffer.from(memory);
    }
    return undefined;
  }

  /** Leaves a slot to the garbage collector, but remembers it in case a take comes first. */
  #release(memory: ArrayBufferLike): void {
    // Bounded like the spares: past that, the oldest are forgotten (they are likely collected anyway).
    if (this.#released.length >= Math.max(1, this.#maxSpare)) this.#released.shift();
    this.#released.push(new WeakRef(memory));
  }

  #make(): Buffer {
    this.#made++;
    return Buffer.from(new SharedArrayBuffer(this.slotBytes));
  }

  /** Drops n spare slots, those set aside last, and tells the budget of the counted ones. */
  #drop(n: number): void {
    if (n <= 0) return;
    const counted = Math.min(n, this.#spare.length - this.#reserved);
    for (const slot of this.#spare.splice(0, n)) this.#release(slot.buffer);
    this.#reserved -= n - counted;
    if (counted > 0) this.#budget?.forgetSpare(counted * this.slotBytes);
  }

  #dropAll(): void {
    this.#drop(this.#spare.length);
    this.#reserved = 0;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #armIdleTimer(): void {
    if (this.#idleTimer !== null) return;
    const check = () => {
      const idleFor = Date.now() - this.#lastTake;
      if (idleFor >= this.#idleMs) {
        // Set-aside slots too: a share that has not taken its slot in all this time never will.
        this.#dropAll();
        return;
      }
      this.#idleTimer = setTimeout(check, this.#idleMs - idleFor);
      this.#idleTimer.unref();
    };
    this.#idleTimer = setTimeout(check, this.#idleMs);
    this.#idleTimer.unref();
  }
}
