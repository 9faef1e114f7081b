// The answers and downloads a client connection receives, each matched by id
// to the call it belongs to. Like platformatic/kafka's connection, an answer
// to an id we never sent means we no longer understand the stream: onMessage
// throws, and the connection (client-connection.ts) fails.

import { ProtocolError, errorFromWire } from '../protocol/errors';
import type { IdTable } from '../protocol/id-table';
import type { ServerMessage } from '../protocol/messages';
import { IncomingDownload } from './incoming-download';
import type { InFlightSlots } from './in-flight-slots';
import { settle, type PendingCall } from './pending-call';

/** The control frames a receiving call sends back: credit for a download, or stop. */
export type ControlMessage = { t: 'credit'; id: number; chunks: number } | { t: 'abort'; id: number };

export class IncomingAnswers {
  readonly #pending: IdTable<PendingCall>;
  readonly #abandoned: Set<number>;
  readonly #slots: InFlightSlots;
  /** The set of calls in flight changed: the connection refs or unrefs its socket. */
  readonly #changed: () => void;
  readonly #writeControl: (message: ControlMessage) => void;

  /** The tables are the connection's own, shared: it sends the calls, this matches their answers. */
  constructor(
    pending: IdTable<PendingCall>,
    abandoned: Set<number>,
    slots: InFlightSlots,
    changed: () => void,
    writeControl: (message: ControlMessage) => void,
  ) {
    this.#pending = pending;
    this.#abandoned = abandoned;
    this.#slots = slots;
    this.#changed = changed;
    this.#writeControl = writeControl;
  }

  /** One frame from the daemon; throws what breaks the protocol, and the connection then fails. */
  onMessage(message: ServerMessage): void {
    switch (message.t) {
      case 'result':
      case 'end':
      case 'error': {
        const call = this.#pending.get(message.id);
        if (call === undefined) {
          if (!this.#abandoned.delete(message.id)) throw new ProtocolError(`storaged answered call ${message.id}, which is not in flight`);
          this.#slots.release();
          return;
        }
        // An error may end any call, a download after its head too (its blob
        // stream failed mid-read); end belongs to a download, result to the rest.
        if (message.t !== 'error' && (message.t === 'end') !== call.download instanceof IncomingDownload) {
          throw new ProtocolError(`storaged sent ${message.t} for call ${message.id}, which does not fit a ${call.op}`);
        }
        this.#pending.delete(message.id);
        this.#slots.release();
        this.#changed();
        const error = message.t === 'error' ? errorFromWire(message.error) : null;
        if (call.download instanceof IncomingDownload) {
          if (error) call.download.fail(error);
          else call.download.end();
        } else if (message.t === 'result') {
          settle(call, null, message.value);
        } else {
          settle(call, error);
        }
        return;
      }
      case 'stream': {
        const call = this.#streamCall(message.id);
        if (call === null) return;
        if (call.download !== true) throw new ProtocolError(`storaged started a download for call ${message.id}, a ${call.op}`);
        const id = call.id;
        // The call's signal still ends the download after its head: the download, not settle, lets go of it.
        const detach = call.detach;
        call.detach = null;
        const download = new IncomingDownload(
          (chunks) => this.#writeControl({ t: 'credit', id, chunks }),
          () => this.cancelDownload(call),
          detach,
          call.timeoutMs,
        );
        call.download = download;
        settle(call, null, { info: message.value, body: download.body });
        return;
      }
      case 'chunk': {
        const call = this.#streamCall(message.id);
        if (call === null) return;
        if (!(call.download instanceof IncomingDownload)) throw new ProtocolError(`storaged sent bytes for call ${message.id} before its head`);
        call.download.push(message.data);
        return;
      }
      case 'credit': {
        if (this.#abandoned.has(message.id)) return;
        const call = this.#pending.get(message.id);
        if (call?.credit == null) throw new ProtocolError(`storaged granted credit to call ${message.id}, which sends no body`);
        call.credit.add(message.chunks);
        return;
      }
      case 'fatal':
        throw errorFromWire(message.error);
      case 'hello':
        throw new ProtocolError('storaged sent a second hello');
    }
  }

  /** The call a download frame belongs to; null when it was given up on (its frames are dropped). */
  #streamCall(id: number): PendingCall | null {
    const call = this.#pending.get(id);
    if (call !== undefined) return call;
    if (this.#abandoned.has(id)) return null;
    throw new ProtocolError(`storaged sent download frames for call ${id}, which is not in flight`);
  }

  /** The reader destroyed a download before its end: stop the daemon, drop what is still on its way. */
  cancelDownload(call: PendingCall): void {
    if (this.#pending.get(call.id) !== call) return;
    this.#pending.delete(call.id);
    this.#abandoned.add(call.id);
    this.#writeControl({ t: 'abort', id: call.id });
    this.#changed();
  }
}
