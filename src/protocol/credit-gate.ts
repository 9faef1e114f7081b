// One side of chunk flow control: chunks may be sent only against credit the
// receiver granted, so a fast producer waits here instead of filling the
// receiver's memory. Clients use it for uploads, the daemon for downloads.

export class CreditGate {
  #credit = 0;
  #waiter: { resolve: () => void; reject: (err: Error) => void } | null = null;
  #closed: Error | null = null;

  /** Chunks that may be sent now without waiting. */
  get credit(): number {
    return this.#credit;
  }

  add(chunks: number): void {
    this.#credit += chunks;
    if (this.#waiter && this.#credit > 0) {
      this.#credit -= 1;
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve();
    }
  }

  /** Resolves once one chunk may be sent; rejects when the call is over. */
  take(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#credit > 0) {
      this.#credit -= 1;
      return Promise.resolve();
    }
    if (this.#waiter) return Promise.reject(new Error('CreditGate supports one sender at a time'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Ends the gate: the sender waiting (or about to wait) gets `reason`. */
  close(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.reject(reason);
    }
  }
}
