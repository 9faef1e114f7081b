// One connection to the daemon, shared by many calls: each call gets an id
// and is sent here; its answer is matched by id in incoming-answers.ts, and
// its upload body goes out against credit through body-sender.ts. This file
// keeps the calls' start, their giving up, and the connection's lifecycle.

import { TickCork } from '../protocol/tick-cork';
import { abortReason } from '../protocol/call-options';
import type * as net from 'node:net';
import { ClosedError, ProtocolError, StorageError, TimeoutError, TooLargeError, ValidationError } from '../protocol/errors';
import { MAX_HEADER_BYTES } from '../protocol/limits';
import { encodeFrame, type FrameDecoder } from '../protocol/frame-codec';
import { parseServerMessage } from '../protocol/message-guards';
import type { HelloReply, Op } from '../protocol/messages';
import type { PhotoDownload } from '../protocol/photo-storage';
import type { BodySource } from './body-chunks';
import { BodySender } from './body-sender';
import { connectAndGreet, type HelloIdentity } from './client-handshake';
import { CreditGate } from '../protocol/credit-gate';
import { type ControlMessage, IncomingAnswers } from './incoming-answers';
import { IncomingDownload } from './incoming-download';
import { InFlightSlots } from './in-flight-slots';
import { IdTable } from '../protocol/id-table';
import { settle, type PendingCall } from './pending-call';

/** Ids given up on (timed out, aborted) and still awaiting their answer, beyond which we start afresh. */
const MAX_ABANDONED = 4096;

export class ClientConnection {
  readonly limits: HelloReply['limits'];
  readonly serverVersion: string;
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder;
  /** Calls sent and not answered, by id (an IdTable, not a Map: see id-table.ts). */
  readonly #pending = new IdTable<PendingCall>();
  /** Answers still due for calls we stopped waiting for; dropped on arrival instead of tripping the unknown-id rule. */
  readonly #abandoned = new Set<number>();
  readonly #slots: InFlightSlots;
  readonly #answers: IncomingAnswers;
  readonly #body: BodySender;
  #nextId = 1;
  #idle: (() => void) | null = null;
  #failure: StorageError | null = null;
  #closing = false;
  /** Whether the socket is ref'd now; ref() and unref() are native calls, made only on a change. */
  #referenced: boolean | null = null;
  readonly #cork: TickCork;
  readonly closed: Promise<void>;

  static async open(socketPath: string, identity: HelloIdentity, connectTimeoutMs: number): Promise<ClientConnection> {
    const { socket, decoder, hello } = await connectAndGreet(socketPath, identity, connectTimeoutMs);
    return new ClientConnection(socket, decoder, hello);
  }

  private constructor(socket: net.Socket, decoder: FrameDecoder, hello: HelloReply) {
    this.#socket = socket;
    this.#decoder = decoder;
    this.#cork = new TickCork(socket);
    this.limits = hello.limits;
    this.serverVersion = hello.server;
    this.#slots = new InFlightSlots(hello.limits.maxInFlight);
    this.#answers = new IncomingAnswers(
      this.#pending,
      this.#abandoned,
      this.#slots,
      () => this.#pendingChanged(),
      (message) => this.#writeControl(message),
    );
    this.#body = new BodySender(socket, hello.limits, this.#abandoned);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#body.onDrain());
    socket.on('error', (err) => this.#fail(new ClosedError(`connection to storaged failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#fail(new ClosedError('connection to storaged lost')));
    this.#pendingChanged();
  }

  /** False once the connection failed or is closing: the client then opens a new one. */
  get usable(): boolean {
    return this.#failure === null && !this.#closing;
  }

  /**
   * Sends one call (and its body, if any) and resolves with the daemon's answer.
   * `signal` abandons it as a timeout does: the daemon is told to stop (a store then stores nothing).
   */
  call(op: Op, args: Record<string, unknown>, timeoutMs: number, body: BodySource | null = null, signal?: AbortSignal): Promise<unknown> {
    return this.#start(op, args, timeoutMs, body, false, signal);
  }

  /**
   * Sends a call answered with a download; resolves once its head arrives.
   * The timeout covers the wait for the head; the bytes then come at the reader's pace.
   */
  download(op: Op, args: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<PhotoDownload> {
    return this.#start(op, args, timeoutMs, null, true, signal) as Promise<PhotoDownload>;
  }

  #start(
    op: Op,
    args: Record<string, unknown>,
    timeoutMs: number,
    body: BodySource | null,
    download: boolean,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call: PendingCall = {
        id: 0,
        op,
        settled: false,
        resolve,
        reject,
        timer: null,
        timeoutMs,
        credit: body === null ? null : new CreditGate(),
        stream: body !== null && !(body instanceof Uint8Array) && 'destroy' in body ? (body as PendingCall['stream']) : null,
        download,
        detach: null,
      };
      if (this.#failure) return settle(call, this.#failure);
      if (signal !== undefined) {
        if (signal.aborted) return settle(call, abortReason(signal) as Error);
        const onAbort = () => {
          const reason = abortReason(signal) as Error;
          // After its head a download is the reader's stream: it fails with the reason, and the daemon is told to stop.
          if (call.download instanceof IncomingDownload) {
            this.#answers.cancelDownload(call);
            call.download.fail(reason);
          } else {
            this.#giveUp(call, reason);
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      // Covers the wait for a slot too: the caller's budget is for the whole call.
      call.timer = setTimeout(() => this.#giveUp(call, new TimeoutError(`${op} got no answer within ${timeoutMs} ms`)), timeoutMs);
      call.timer.unref();
      if (this.#slots.tryAcquire()) {
        // A free slot: sent in this turn, without the promise hops of waiting for one.
        try {
          this.#send(call, args, body);
        } catch (err) {
          this.#giveUp(call, err instanceof Error ? err : new Error(String(err)));
        }
        return;
      }
      const queued = this.#slots.acquire(call);
      this.#pendingChanged();
      queued
        .then(
          () => this.#send(call, args, body),
          (err: Error) => settle(call, err),
        )
        .catch((err: unknown) => this.#giveUp(call, err instanceof Error ? err : new Error(String(err))));
    });
  }

  /** Waits for calls in flight (not for answers to abandoned ones, nor for downloads: those are cut), then ends the connection. */
  async close(): Promise<void> {
    this.#closing = true;
    // A download is read at its reader's pace, which may be never: it ends now rather than hold close() forever.
    for (const call of this.#pending.values()) {
      if (!(call.download instanceof IncomingDownload)) continue;
      this.#answers.cancelDownload(call);
      call.download.fail(new ClosedError('the client was closed during the download'));
    }
    if (this.#failure === null && (this.#pending.size > 0 || this.#slots.waiting > 0)) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    this.#socket.end(() => this.#socket.destroy());
    await this.closed;
  }

  #send(call: PendingCall, args: Record<string, unknown>, body: BodySource | null): void {
    // A failed connection has already reset its slots; nothing to give back.
    if (this.#failure) return settle(call, this.#failure);
    if (call.settled) {
      // Timed out while waiting for a slot: pass the slot on.
      this.#slots.release();
      return;
    }
    call.id = this.#nextId++;
    let frame: Buffer;
    try {
      frame = encodeFrame({ t: 'call', id: call.id, op: call.op, args });
      // The daemon refuses larger call headers; better to say so without a round trip.
      if (frame.length - 4 > MAX_HEADER_BYTES) throw new ProtocolError(`${frame.length - 4} bytes`);
    } catch (err) {
      this.#slots.release();
      const reason =
        err instanceof ProtocolError
          ? new TooLargeError(`the arguments of ${call.op} are too large (${err.message}); the limit is ${MAX_HEADER_BYTES} bytes`)
          : new ValidationError(`the arguments of ${call.op} cannot be encoded: ${String(err)}`, { cause: err });
      settle(call, reason);
      return;
    }
    this.#pending.set(call.id, call);
    this.#pendingChanged();
    this.#cork.hold();
    this.#socket.write(frame);
    if (body !== null) {
      this.#body.send(call, body).catch((err: unknown) => {
        this.#giveUp(call, err instanceof Error ? err : new Error(String(err)));
      });
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#failure) return;
    try {
      for (const raw of this.#decoder.push(chunk)) this.#answers.onMessage(parseServerMessage(raw));
    } catch (err) {
      this.#fail(err instanceof StorageError ? err : new ProtocolError(String(err), { cause: err }));
      this.#socket.destroy();
    }
  }

  /** Small control frames (credit, abort) go out at once, whatever the back-pressure. */
  #writeControl(message: ControlMessage): void {
    if (this.#failure === null && this.#socket.writable) this.#socket.write(encodeFrame(message));
  }

  /** We stop waiting (timeout, failed body stream): tell the daemon, and drop its answer when it comes. */
  #giveUp(call: PendingCall, err: Error): void {
    if (call.settled) return;
    if (this.#pending.get(call.id) === call) {
      this.#pending.delete(call.id);
      this.#abandoned.add(call.id);
      if (this.#failure === null && this.#socket.writable) this.#socket.write(encodeFrame({ t: 'abort', id: call.id }));
      this.#pendingChanged();
    } else if (call.id === 0) {
      // Still waiting for a slot: nothing was sent, it only leaves the queue.
      this.#slots.withdraw(call);
      this.#pendingChanged();
    }
    settle(call, err);
    if (this.#abandoned.size > MAX_ABANDONED) {
      this.#fail(new ClosedError(`more than ${MAX_ABANDONED} calls abandoned without an answer; reconnecting`));
    }
  }

  #fail(reason: StorageError): void {
    if (this.#failure) return;
    this.#failure = reason;
    const pending = this.#pending.values();
    this.#pending.clear();
    this.#abandoned.clear();
    for (const call of pending) {
      if (call.download instanceof IncomingDownload) call.download.fail(reason);
      else settle(call, reason);
    }
    this.#slots.failAll(reason);
    this.#body.fail(reason);
    this.#socket.destroy();
    this.#pendingChanged();
  }

  #pendingChanged(): void {
    const busy = this.#pending.size > 0 || this.#slots.waiting > 0;
    // An idle client must not keep its process alive; a pending call must.
    if (busy !== this.#referenced) {
      this.#referenced = busy;
      if (busy) this.#socket.ref();
      else this.#socket.unref();
    }
    if (!busy && this.#idle) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }
}
