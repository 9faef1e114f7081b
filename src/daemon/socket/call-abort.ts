// A call's abort switch whose AbortController is made only when something asks
// for the signal. Uploads read it; most calls (getPhoto and friends) never do,
// and one controller per call was 4% of the daemon's time under getPhoto load.

export class CallAbort {
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
