// The daemon answers calls beyond its per-connection limit with an error; a
// well-behaved client queues them instead. A slot is held from send until the
// answer arrives, even for a call the client gave up on, because until then
// the daemon still counts it.

export class InFlightSlots {
  readonly #limit: number;
  #used = 0;
  readonly #waiters: Array<{ owner: object; grant: () => void; fail: (err: Error) => void }> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a free slot at once, without a promise; false when the caller must wait through acquire(). */
  tryAcquire(): boolean {
    if (this.#used >= this.#limit) return false;
    this.#used += 1;
    return true;
  }

  /** A slot for `owner`, now or once one is released; `withdraw(owner)` leaves the queue. */
  acquire(owner: object): Promise<void> {
    if (this.#used < this.#limit) {
      this.#used += 1;
      return Promise.resolve();
    }
    return new Promise((grant, fail) => this.#waiters.push({ owner, grant: () => grant(), fail }));
  }

  /**
   * The owner gave up waiting (timeout, abort): it leaves the queue, so it is
   * not counted as waiting (close() would wait for it, and the socket stay
   * ref'd, for as long as a hung daemon holds every slot) nor kept in memory.
   */
  withdraw(owner: object): void {
    const index = this.#waiters.findIndex((waiter) => waiter.owner === owner);
    if (index !== -1) this.#waiters.splice(index, 1);
  }

  release(): void {
    const waiter = this.#waiters.shift();
    // The slot passes straight to the next waiter, so the count stays.
    if (waiter) waiter.grant();
    else this.#used -= 1;
  }

  /** The connection is gone: every waiter fails, and no slot is held any more. */
  failAll(reason: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.fail(reason);
    this.#used = 0;
  }
}
