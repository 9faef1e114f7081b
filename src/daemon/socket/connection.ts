// One client connection to the socket server: handshake, frame routing and
// the connection's lifecycle (peer end, close, fatal); its calls live in
// open-calls.ts. Whatever a client sends, the worst outcome is that its own
// connection is closed; nothing here throws out of an event handler, so one
// broken client cannot take the daemon or other clients down.

import type * as net from 'node:net';
import { ClosedError, ProtocolError, toStorageError } from '../../protocol/errors';
import { FrameDecoder } from '../../protocol/frame-codec';
import { DOWNLOAD_WINDOW_CHUNKS, MAX_HELLO_BYTES } from '../../protocol/limits';
import { parseClientMessage, UnknownOpError } from '../../protocol/message-guards';
import type { ClientMessage } from '../../protocol/messages';
import type { Coordinator } from '../coordinator/coordinator';
import type { Logger } from '../logger';
import { AnswerWriter } from './answer-writer';
import { joinFrameInto } from '../memory/upload-frames';
import { takesBody } from './call-dispatch';
import { acceptHello, type SocketAuth } from './hello-check';
import { peerOf, type PeerCredentials } from './peer-credentials';
import { type ActiveCall, OpenCalls } from './open-calls';
import type { CallAdmission } from '../admission/call-admission';
import type { AuthFailures } from '../admission/auth-failures';

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
  auth: SocketAuth;
  /** The daemon's slots for calls, shared with the gateway. */
  admission: CallAdmission;
  /** Wrong tokens in hellos, shared by the server's connections and counted per Unix user where known (hello-check.ts); null for no limit. */
  authFailures: AuthFailures | null;
}

type State = 'hello' | 'open' | 'closed';

export class Connection {
  readonly #socket: net.Socket;
  readonly #opts: ConnectionOptions;
  readonly #decoder = new FrameDecoder({ joinInto: joinFrameInto });
  #logger: Logger;
  #state: State = 'hello';
  readonly #out: AnswerWriter;
  readonly #calls: OpenCalls;
  #helloTimer: NodeJS.Timeout | null;
  /** Who connected, by the kernel's word (when the addon is built; never in trusted mode); null when not read or not readable. */
  readonly #peer: PeerCredentials | null = null;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  constructor(socket: net.Socket, opts: ConnectionOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#out = new AnswerWriter(socket, () => this.#state === 'closed');
    this.#calls = new OpenCalls(opts, this.#out, () => this.#endIfIdle());
    this.#logger = opts.logger;
    // Read at accept, while the descriptor surely is open; the kernel recorded it at connect().
    const read = opts.auth.mode === 'trusted' ? undefined : opts.auth.read;
    if (read !== undefined) {
      try {
        this.#peer = peerOf(socket, read);
      } catch (err) {
        this.#logger.warn({ err }, "could not read a socket connection's Unix user; it may still authenticate by token");
      }
    }
    // The first frame must be the hello, from a peer that is nobody yet: a hello's worth of bytes, not a full frame.
    this.#decoder.limitNextFrame(MAX_HELLO_BYTES, ' before the hello');
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
    this.#calls.draining = true;
    if (this.#state === 'hello') this.#closeSocket();
    else this.#endIfIdle();
  }

  /** Resolves when the coordinator has settled every call this connection started. */
  settled(): Promise<void> {
    return this.#calls.settled();
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
        this.#calls.sendError(err.callId, err);
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
        this.#calls.open(message, bytes);
        return;
      case 'chunk': {
        const call = this.#bodyCall(message.id, 'chunk');
        if (call === null) return;
        const outcome = call.body!.push(message.data);
        if (outcome === 'over-credit') throw new ProtocolError(`chunk for call ${message.id} beyond the credit granted`);
        if (outcome === 'after-end') throw new ProtocolError(`chunk for call ${message.id} after its end`);
        // 'too-large' failed the body: the store's reader gets the TooLargeError at its next read, removes its spool
        // file and undoes what it began, and only then is the call answered (with that error), so a caller acting on
        // TOO_LARGE finds nothing of the store left. No more credit is granted meanwhile, so the client sends no more.
        // Neither answered nor aborted here: an abort could reach the reader first and turn the answer into CLOSED.
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
        if (this.#calls.withdraw(call, reason)) return;
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
        if (!call.download.grant(message.chunks)) {
          throw new ProtocolError(
            `credit for call ${message.id} beyond the download window of ${DOWNLOAD_WINDOW_CHUNKS} chunks: grant a chunk for each chunk read`,
          );
        }
        return;
      }
    }
  }

  #onHello(message: ClientMessage): void {
    const { clientId, admin, reply } = acceptHello(message, this.#opts, this.#peer);
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#helloTimer = null;
    this.#logger = this.#opts.logger.child(this.#peer === null ? { clientId } : { clientId, uid: this.#peer.uid, pid: this.#peer.pid });
    this.#calls.greet(clientId, admin, this.#logger);
    this.#state = 'open';
    this.#out.send(reply);
  }

  /** The open upload call a body frame belongs to, or null to drop the frame. */
  #bodyCall(id: number, what: string): ActiveCall | null {
    const call = this.#calls.get(id);
    // Already answered (e.g. refused before its body was read): the client stops once it reads the answer.
    if (call === undefined) return null;
    // A store waiting for a slot has been granted no credit yet, so no body frame may come.
    if (call.waiting !== null) throw new ProtocolError(`${what} for call ${id} before any credit was granted`);
    if (call.body === null) throw new ProtocolError(`${what} for call ${id}, but ${call.op} takes no body`);
    return call;
  }

  /** Answers what can be answered, then closes: used for anything that leaves the stream unusable. */
  #fatal(err: unknown): void {
    if (this.#state === 'closed') return;
    this.#opts.counters.protocolErrors += 1;
    const error = toStorageError(err);
    if (error.code === 'INTERNAL') this.#logger.error({ err }, 'closing a connection after an internal error');
    // A hello refused during a flood of wrong tokens: hello-check.ts said so once; a line per connection would flood the log too.
    else if (error.code === 'RATE_LIMITED') this.#logger.debug({ code: error.code }, 'closing a connection refused for the wrong tokens before it');
    else this.#logger.warn({ code: error.code, reason: error.message }, 'closing a connection that broke the protocol');
    this.#out.send({ t: 'fatal', error: error.toWire() });
    this.#closeSocket();
  }

  /** Ends our side after the pending writes; destroys once they are flushed, whatever the peer does. */
  #closeSocket(): void {
    this.#calls.failAll(new ClosedError('the connection is closing'));
    this.#state = 'closed';
    this.#socket.end(() => this.#socket.destroy());
  }

  #onPeerEnd(): void {
    // A half-closed client may still read the answers of calls it already sent.
    this.#calls.draining = true;
    // An upload still open can never be completed: same as a dropped connection for that call.
    const reason = new ClosedError('the client closed its side of the connection mid-upload');
    for (const call of this.#calls.values()) {
      // A store still waiting for a slot would wait for a body that cannot come.
      if (takesBody(call.op) && this.#calls.withdraw(call, reason)) continue;
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
    if (this.#calls.draining && this.#calls.size === 0 && this.#state !== 'closed') this.#closeSocket();
  }

  #onClose(): void {
    if (this.#helloTimer) clearTimeout(this.#helloTimer);
    this.#calls.failAll(new ClosedError('the connection closed'));
    this.#state = 'closed';
  }
}
