import type { Socket } from 'node:net';

/**
 * Holds a socket's writes until the end of the current tick, so frames sent
 * in one turn of the event loop leave in one write(2) instead of one each.
 * Both ends of the protocol use it.
 */
export class TickCork {
  #corked = false;

  constructor(private readonly socket: Socket) {}

  hold(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      this.socket.uncork();
    });
  }
}
