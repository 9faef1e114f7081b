// Sends the upload bodies of a client connection: chunk frames, each against a
// credit the daemon granted, written with the socket's back-pressure. The
// connection (client-connection.ts) sends the call itself and settles it.

import type * as net from 'node:net';
import type { StorageError } from '../protocol/errors';
import { encodeFrame } from '../protocol/frame-codec';
import type { HelloReply } from '../protocol/messages';
import { bodyChunks, type BodySource } from './body-chunks';
import type { PendingCall } from './pending-call';

export class BodySender {
  readonly #socket: net.Socket;
  readonly #limits: HelloReply['limits'];
  /** The connection's ids given up on: their daemon side is already told to stop. */
  readonly #abandoned: ReadonlySet<number>;
  #drainWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #failure: StorageError | null = null;

  constructor(socket: net.Socket, limits: HelloReply['limits'], abandoned: ReadonlySet<number>) {
    this.#socket = socket;
    this.#limits = limits;
    this.#abandoned = abandoned;
  }

  /** Sends `body` as chunk frames of the call, one per credit, then its end. */
  async send(call: PendingCall, body: BodySource): Promise<void> {
    const chunkBytes = Math.min(this.#limits.chunkBytes, this.#limits.maxFrameBytes - 64);
    // The call's timeout bounds silence, not the whole upload: each piece pulled from the body restarts it.
    const chunks = bodyChunks(body, chunkBytes, () => call.timer?.refresh());
    // One chunk is read ahead while the previous one is written and its credit
    // awaited, so that reading the source (a file: several thread-pool round
    // trips per chunk) overlaps the transfer instead of stalling it. Beyond that
    // one chunk, the source is pulled no faster than the daemon grants credit.
    let ahead = chunks.next();
    ahead.catch(() => undefined);
    let whole = false;
    try {
      for (;;) {
        try {
          await call.credit!.take();
        } catch {
          return this.#stopBody(call);
        }
        const next = await ahead;
        if (call.settled) return this.#stopBody(call);
        if (next.done) break;
        ahead = chunks.next();
        ahead.catch(() => undefined);
        await this.#write(encodeFrame({ t: 'chunk', id: call.id, data: next.value }));
        call.timer?.refresh();
      }
      whole = true;
    } finally {
      // Stopped part way: close the source too (a generator's finally, the file
      // stream it reads), or it stays suspended at its yield with its descriptor open.
      if (!whole) chunks.return(undefined).catch(() => undefined);
    }
    await this.#write(encodeFrame({ t: 'end', id: call.id }));
    // From the body's end the daemon has the whole timeout to answer.
    call.timer?.refresh();
  }

  /** The call ended before its body did (answered early, timed out): say so, so the daemon drops what is in flight. */
  #stopBody(call: PendingCall): void {
    if (this.#failure === null && this.#socket.writable && !this.#abandoned.has(call.id)) {
      this.#socket.write(encodeFrame({ t: 'abort', id: call.id }));
    }
  }

  /** Writes respecting back-pressure: resolves once the socket wants more. */
  #write(frame: Buffer): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#socket.write(frame)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** The socket wants more: writes waiting on back-pressure go on. */
  onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The connection failed: writes waiting for drain fail with it, and no later one is made. */
  fail(reason: StorageError): void {
    this.#failure = reason;
    for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(reason);
  }
}
