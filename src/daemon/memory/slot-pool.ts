// Blocks of memory for bytes in transit (downloaded parts, upload chunk
// frames), lent out and given back once nothing reads them. A fresh
// ArrayBuffer per block would be garbage that V8 lets pile up to ~32 MiB per
// isolate before a scavenge frees it, and that counts against the old
// generation's limit meanwhile: it drove both the daemon's peak resident
// memory and its full collections while large bodies moved. The blocks are
// SharedArrayBuffers, so a worker thread can fill one in place.

export class SlotPool {
  readonly #spare: Buffer[] = [];
  /** Lent slots: only these may come back, and only once. */
  readonly #lent = new WeakSet<ArrayBufferLike>();

  /** `maxSpare` slots are kept for later use; more are left to the garbage collector. */
  constructor(
    readonly slotBytes: number,
    readonly maxSpare: number,
  ) {}

  /** A slot of slotBytes, shared memory; its contents are stale. */
  take(): Buffer {
    const slot = this.#spare.pop() ?? Buffer.from(new SharedArrayBuffer(this.slotBytes));
    this.#lent.add(slot.buffer);
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
    this.#lent.delete(memory);
    if (this.#spare.length < this.maxSpare) this.#spare.push(Buffer.from(memory));
  }

  /** Slots kept for reuse now (tests check that users give theirs back). */
  get spareCount(): number {
    return this.#spare.length;
  }
}
