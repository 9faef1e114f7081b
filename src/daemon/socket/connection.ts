// One client connection to the socket server: handshake, calls in flight,
// upload bodies and back-pressure. Whatever a client sends, the worst outcome
// is that its own connection is closed; nothing here throws out of an event
// handler, so one broken client cannot take the daemon or other clients down.

import { IdTable } from '../../protocol/id-table';
import { CallAbort } from './call-abort';
import type * as net from 'node:net';
import {
  ClosedError,
  ProtocolError,
  StorageError,
  TooLargeError,
  TooManyInFlightError,
  UnavailableError,
  toStorageError,
} from '../../protocol/errors';
import { FrameDecoder } from '../../protocol/frame-codec';
import { MAX_HEADER_BYTES, MAX_IN_FLIGHT_PER_CONNECTION, UPLOAD_WINDOW_CHUNKS } from '../../protocol/limits';
import { parseClientMessage, UnknownOpError } from '../../protocol/message-guards';
import type { CallMessage, ClientMessage, EndMessage, ErrorMessage, ResultMessage } from '../../protocol/messages';
import type { CallContext, Coordinator, PhotoContent } from '../coordinator/coordinator';
import type { Logger } from '../logger';
import { AnswerWriter } from './answer-writer';
import { dispatchCall, madeAnswer, NOT_MADE, streamsAnswer, takesBody } from './call-dispatch';
import { DownloadSender } from './download-sender';
import { joinFrameInto } from '../memory/upload-frames';
import { acceptHello } from './hello-check';
import { UploadBody } from './upload-body';

/** Counters shared by every connection of one server (see SocketServer.stats). */
export interface ServerCounters {
  callsInFlight: number;
  callsTotal: number;
  protocolErrors: number;
}

export interface ConnectionOptions {
  coordinator: Coordinator;
  logger: Logger;
  maxBodyBytes: number;
  serverVersion: string;
  counters: ServerCounters;
  helloTimeoutMs: number;
}

interface ActiveCall {
  id: number;
  op: CallMessage['op'];
  controller: CallAbort;
  body: UploadBody | null;
  download: DownloadSender | null;
}

type State = 'hello' | 'open' | 'closed';

export class Connection {
  readonly #socket: net.Socket;
  readonly #opts: ConnectionOptions;
  readonly #decoder = new FrameDecoder({ joinInto: joinFrameInto });
  #logger: Logger;
  #state: State = 'hello';
  #clientId = '';
  /** The context of calls answered at once: nothing is left running to abort. */
  #atOnceCtx: CallContext | null = null;
  /** Calls not answered yet, by id. An answered call leaves at once, even if the coordinator still cleans up. */
  readonly #calls = new IdTable<ActiveCall>();
  /** Coordinator work not settled yet; shutdown waits for it. A count, not a Set of promises: see id-table.ts. */
  #running = 0;
  #settledWaiters: Array<() => void> = [];
  /** No new calls: the peer half-closed or the server is shutting down. */
  #draining = false;
  readonly #out: AnswerWriter;
  #helloTimer: NodeJS.Timeout | null;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  constructor(socket: net.Socket, opts: ConnectionOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#out = new AnswerWriter(socket, () => this.#state === 'closed');
    this.#logger = opts.logger;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onPeerEnd());
    socket.on('close', () => this.#onClose());
    socket.on('error', (err) => this.#logger.debug({ err }, 'socket client connection error'));
    this.#helloTimer = setTimeout(() => {
      this.#fatal(new ProtocolError(`no hello within ${opts.helloTimeoutMs} ms`));
    }, opts.helloTimeoutMs);
    this.#helloTimer.unref();
  }

  /** Stops taking new calls and ends the connection once every open call is answered. */
  drain(): void {
    this.#draining = true;
    if (this.#state === 'hello') this.#closeSocket();
    else this.#endIfIdle();
  }

  /** Resolves when the coordinator has settled every call this connection started. */
  async settled(): Promise<void> {
    if (this.#running === 0) return;
    await new Promise<void>((resolve) => this.#settledWaiters.push(resolve));
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    try {
      for (const frame of this.#decoder.pushFrames(chunk)) {
        // A frame earlier in this read may have closed the connection.
        if (this.#isClosed()) return;
        this.#onMessage(frame.message, frame.bytes);
      }
    } catch (err) {
      this.#fatal(err);
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #onMessage(raw: unknown, bytes: number): void {
    let message: ClientMessage;
    try {
      message = parseClientMessage(raw);
    } catch (err) {
      if (err instanceof UnknownOpError && this.#state === 'open') {
        this.#opts.counters.callsTotal += 1;
        this.#sendError(err.callId, err);
        return;
      }
      throw err;
    }
    if (this.#state === 'hello') {
      this.#onHello(message);
      return;
    }
    switch (message.t) {
      case 'hello':
        throw new ProtocolError('hello sent twice on one connection');
      case 'call':
        this.#onCall(message, bytes);
        return;
      case 'chunk': {
        const call = this.#bodyCall(message.id, 'chunk');
        if (call === null) return;
        const outcome = call.body!.push(message.data);
        if (outcome === 'over-credit') throw new ProtocolError(`chunk for call ${message.id} beyond the credit granted`);
        if (outcome === 'after-end') throw new ProtocolError(`chunk for call ${message.id} after its end`);
        if (outcome === 'too-large') {
          const err = call.body!.failure!;
          call.controller.abort(err);
          this.#answerError(call, err);
        }
        return;
      }
      case 'end':
        this.#bodyCall(message.id, 'end')?.body!.end();
        return;
      case 'abort': {
        // Any call may be aborted (the client gave up on it); only an upload has a body to fail.
        const call = this.#calls.get(message.id);
        if (call === undefined) return;
        const reason = new ClosedError('the client aborted the call');
        call.body?.fail(reason);
        call.download?.stop(reason);
        call.controller.abort(reason);
        return;
      }
      case 'credit': {
        const call = this.#calls.get(message.id);
        // Credit racing the end of a download is harmless.
        if (call === undefined) return;
        if (call.download === null) throw new ProtocolError(`credit for call ${message.id}, but ${call.op} sends no download`);
        call.download.grant(message.chunks);
        return;
      }
    }
  }

  #onHello(message: ClientMessage): void {
    const { clientId, reply } = acceptHello(message, this.#opts);
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#helloTimer = null;
    this.#clientId = clientId;
    this.#atOnceCtx = {
      clientId,
      get signal() {
        return new AbortController().signal;
      },
    };
    this.#logger = this.#opts.logger.child({ clientId });
    this.#state = 'open';
    this.#out.send(reply);
  }

  #onCall(message: CallMessage, bytes: number): void {
    const { id, op } = message;
    // Two live calls with one id would make every later answer ambiguous: nothing sane is left to do.
    if (this.#calls.has(id)) throw new ProtocolError(`call id ${id} is already in flight`);
    this.#opts.counters.callsTotal += 1;
    if (this.#draining) {
      this.#sendError(id, new UnavailableError('storaged is shutting down; retry on a new connection'));
      return;
    }
    if (bytes > MAX_HEADER_BYTES) {
      this.#sendError(id, new TooLargeError(`call header of ${bytes} bytes exceeds ${MAX_HEADER_BYTES} bytes`));
      return;
    }
    if (this.#calls.size >= MAX_IN_FLIGHT_PER_CONNECTION) {
      this.#sendError(
        id,
        new TooManyInFlightError(`more than ${MAX_IN_FLIGHT_PER_CONNECTION} calls in flight on one connection`),
      );
      return;
    }
    let made: unknown;
    try {
      made = madeAnswer(this.#opts.coordinator, this.#atOnceCtx!, op, message.args);
    } catch (err) {
      this.#deliverTo(op, this.#errorAnswer(op, id, err));
      return;
    }
    if (made !== NOT_MADE) {
      this.#deliverTo(op, { t: 'result', id, value: made });
      return;
    }
    const call: ActiveCall = {
      id,
      op,
      controller: new CallAbort(),
      body: null,
      download: streamsAnswer(op) ? new DownloadSender() : null,
    };
    if (takesBody(op)) {
      call.body = new UploadBody(this.#opts.maxBodyBytes, () => {
        if (this.#calls.get(id) === call) this.#out.send({ t: 'credit', id, chunks: 1 });
      });
    }
    this.#calls.set(id, call);
    if (call.body) this.#out.send({ t: 'credit', id, chunks: UPLOAD_WINDOW_CHUNKS });

    const counters = this.#opts.counters;
    counters.callsInFlight += 1;
    const abort = call.controller;
    const ctx = {
      clientId: this.#clientId,
      get signal() {
        return abort.signal;
      },
    };
    this.#running += 1;
    void dispatchCall(this.#opts.coordinator, ctx, op, message.args, call.body)
      .then(
        (value) =>
          call.download === null ? this.#answer(call, { t: 'result', id, value }) : this.#stream(call, value as PhotoContent),
        (err) => this.#answerError(call, err),
      )
      .catch((err) => this.#logger.error({ err, op }, 'answering a call failed'))
      .finally(() => {
        counters.callsInFlight -= 1;
        this.#running -= 1;
        if (this.#running === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve();
        // The coordinator is done with the body; chunks still on their way are dropped.
        call.body?.fail(new ClosedError('the call has already been answered'));
      });
  }

  /** Answers a download: its head, then chunks as the client grants credit, then its end. */
  async #stream(call: ActiveCall, content: PhotoContent): Promise<void> {
    if (this.#calls.get(call.id) !== call) {
      content.body.destroy();
      return;
    }
    this.#out.send({ t: 'stream', id: call.id, value: content.info });
    try {
      await call.download!.send(content.body, (data, written) => this.#out.writeChunk(call.id, data, written));
    } catch (err) {
      this.#answerError(call, err);
      return;
    }
    this.#answer(call, { t: 'end', id: call.id });
  }

  /** The open upload call a body frame belongs to, or null to drop the frame. */
  #bodyCall(id: number, what: string): ActiveCall | null {
    const call = this.#calls.get(id);
    // Already answered (e.g. refused before its body was read): the client stops once it reads the answer.
    if (call === undefined) return null;
    if (call.body === null) throw new ProtocolError(`${what} for call ${id}, but ${call.op} takes no body`);
    return call;
  }

  #answerError(call: ActiveCall, err: unknown): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#answer(call, this.#errorAnswer(call.op, call.id, err));
  }

  #errorAnswer(op: CallMessage['op'], id: number, err: unknown): ErrorMessage {
    const error = toStorageError(err);
    if (error.code === 'INTERNAL') {
      this.#logger.error({ err: error.cause ?? error, op, callId: id }, 'call failed with an internal error');
    } else {
      this.#logger.debug({ op, code: error.code, message: error.message }, 'call failed');
    }
    return { t: 'error', id, error: error.toWire() };
  }

  #answer(call: ActiveCall, message: ResultMessage | ErrorMessage | EndMessage): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#calls.delete(call.id);
    this.#deliverTo(call.op, message);
    this.#endIfIdle();
  }

  #deliverTo(op: CallMessage['op'], message: ResultMessage | ErrorMessage | EndMessage): void {
    this.#out.deliver(message, this.#logger, op);
  }

  #sendError(id: number, error: StorageError): void {
    this.#out.send({ t: 'error', id, error: error.toWire() });
  }

  /** Answers what can be answered, then closes: used for anything that leaves the stream unusable. */
  #fatal(err: unknown): void {
    if (this.#state === 'closed') return;
    this.#opts.counters.protocolErrors += 1;
    const error = toStorageError(err);
    if (error.code === 'INTERNAL') this.#logger.error({ err }, 'closing a connection after an internal error');
    else this.#logger.warn({ code: error.code, reason: error.message }, 'closing a connection that broke the protocol');
    this.#out.send({ t: 'fatal', error: error.toWire() });
    this.#closeSocket();
  }

  /** Ends our side after the pending writes; destroys once they are flushed, whatever the peer does. */
  #closeSocket(): void {
    this.#failOpenCalls(new ClosedError('the connection is closing'));
    this.#state = 'closed';
    this.#socket.end(() => this.#socket.destroy());
  }

  #onPeerEnd(): void {
    // A half-closed client may still read the answers of calls it already sent.
    this.#draining = true;
    // An upload still open can never be completed: same as a dropped connection for that call.
    const reason = new ClosedError('the client closed its side of the connection mid-upload');
    for (const call of this.#calls.values()) {
      if (call.body === null) continue;
      if (call.body.open) {
        call.body.fail(reason);
        call.controller.abort(reason);
        continue;
      }
      // A store whose body is all in may still be moving it to MinIO. The end
      // of the stream looks the same from a client that half-closed and from
      // one that died; only a write tells them apart. A credit is one the
      // client may take and ignore (its body is sent); to a dead client the
      // write fails, the connection closes, and the store is cancelled rather
      // than committed for a caller who will never learn its id.
      this.#out.send({ t: 'credit', id: call.id, chunks: 1 });
    }
    this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (this.#draining && this.#calls.size === 0 && this.#state !== 'closed') this.#closeSocket();
  }

  #onClose(): void {
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#failOpenCalls(new ClosedError('the connection closed'));
    this.#state = 'closed';
  }

  /** The coordinator learns through the body and the signal; its answers will have nowhere to go. */
  #failOpenCalls(reason: ClosedError): void {
    for (const call of this.#calls.values()) {
      call.body?.fail(reason);
      call.download?.stop(reason);
      call.controller.abort(reason);
    }
    this.#calls.clear();
  }
}
