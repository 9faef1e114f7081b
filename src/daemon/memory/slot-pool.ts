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

import type { MemoryShare } from './memory-budget';

export class SlotPool {
  readonly #spare: Buffer[] = [];
  /** Lent slots: only these may come back, and only once. Each maps to its budget share, if any. */
  readonly #lent = new WeakMap<ArrayBufferLike, MemoryShare | null>();
  readonly #dropped = new FinalizationRegistry<MemoryShare | null>((share) => {
    this.#lentCount--;
    share?.release();
  });
  #lentCount = 0;
  #maxSpare: number;

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
    this.#spare.length = Math.min(this.#spare.length, maxSpare);
  }

  /** A slot of slotBytes, shared memory; its contents are stale. `share` goes back with it. */
  take(share: MemoryShare | null = null): Buffer {
    const slot = this.#spare.pop() ?? Buffer.from(new SharedArrayBuffer(this.slotBytes));
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
    share?.release();
    if (this.#spare.length < this.#maxSpare) this.#spare.push(Buffer.from(memory));
  }

  /** Slots kept for reuse now (tests check that users give theirs back). */
  get spareCount(): number {
    return this.#spare.length;
  }

  /** Slots lent out and not yet given back (or collected). */
  get lentCount(): number {
    return this.#lentCount;
  }
}
