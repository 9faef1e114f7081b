// One connection to the daemon, shared by many calls: each call gets an id,
// answers are matched by id, uploads are sent against credit. Like
// platformatic/kafka's connection, an answer to an id we never sent means we
// no longer understand the stream, so the connection is dropped.

import { TickCork } from '../protocol/tick-cork';
import type * as net from 'node:net';
import {
  ClosedError,
  ProtocolError,
  StorageError,
  TimeoutError,
  TooLargeError,
  ValidationError,
  errorFromWire,
} from '../protocol/errors';
import { MAX_HEADER_BYTES } from '../protocol/limits';
import { encodeFrame, type FrameDecoder } from '../protocol/frame-codec';
import { parseServerMessage } from '../protocol/message-guards';
import type { HelloReply, Op, ServerMessage } from '../protocol/messages';
import type { PhotoDownload } from '../protocol/photo-storage';
import { bodyChunks, type BodySource } from './body-chunks';
import { connectAndGreet } from './client-handshake';
import { CreditGate } from '../protocol/credit-gate';
import { IncomingDownload } from './incoming-download';
import { InFlightSlots } from './in-flight-slots';
import { IdTable } from '../protocol/id-table';

/** Ids given up on (timed out, aborted) and still awaiting their answer, beyond which we start afresh. */
const MAX_ABANDONED = 4096;

interface PendingCall {
  id: number;
  op: Op;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
  credit: CreditGate | null;
  /** The caller's stream, destroyed if the call ends before the body is sent (as stream.pipeline would). */
  stream: { destroy(err?: Error): unknown; readableEnded?: boolean } | null;
  /** Answered with a download: true from the call on, the download itself once its head arrived. */
  download: IncomingDownload | boolean;
}

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
  #drainWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #nextId = 1;
  #idle: (() => void) | null = null;
  #failure: StorageError | null = null;
  #closing = false;
  /** Whether the socket is ref'd now; ref() and unref() are native calls, made only on a change. */
  #referenced: boolean | null = null;
  readonly #cork: TickCork;
  readonly closed: Promise<void>;

  static async open(socketPath: string, clientId: string, connectTimeoutMs: number): Promise<ClientConnection> {
    const { socket, decoder, hello } = await connectAndGreet(socketPath, clientId, connectTimeoutMs);
    return new ClientConnection(socket, decoder, hello);
  }

  private constructor(socket: net.Socket, decoder: FrameDecoder, hello: HelloReply) {
    this.#socket = socket;
    this.#decoder = decoder;
    this.#cork = new TickCork(socket);
    this.limits = hello.limits;
    this.serverVersion = hello.server;
    this.#slots = new InFlightSlots(hello.limits.maxInFlight);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', (err) => this.#fail(new ClosedError(`connection to storaged failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#fail(new ClosedError('connection to storaged lost')));
    this.#pendingChanged();
  }

  /** False once the connection failed or is closing: the client then opens a new one. */
  get usable(): boolean {
    return this.#failure === null && !this.#closing;
  }

  /** Sends one call (and its body, if any) and resolves with the daemon's answer. */
  call(op: Op, args: Record<string, unknown>, timeoutMs: number, body: BodySource | null = null): Promise<unknown> {
    return this.#start(op, args, timeoutMs, body, false);
  }

  /**
   * Sends a call answered with a download; resolves once its head arrives.
   * The timeout covers the wait for the head; the bytes then come at the reader's pace.
   */
  download(op: Op, args: Record<string, unknown>, timeoutMs: number): Promise<PhotoDownload> {
    return this.#start(op, args, timeoutMs, null, true) as Promise<PhotoDownload>;
  }

  #start(op: Op, args: Record<string, unknown>, timeoutMs: number, body: BodySource | null, download: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call: PendingCall = {
        id: 0,
        op,
        settled: false,
        resolve,
        reject,
        timer: null,
        credit: body === null ? null : new CreditGate(),
        stream: body !== null && !(body instanceof Uint8Array) && 'destroy' in body ? (body as PendingCall['stream']) : null,
        download,
      };
      if (this.#failure) return this.#settle(call, this.#failure);
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
      const queued = this.#slots.acquire();
      this.#pendingChanged();
      queued
        .then(
          () => this.#send(call, args, body),
          (err: Error) => this.#settle(call, err),
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
      this.#cancelDownload(call);
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
    if (this.#failure) return this.#settle(call, this.#failure);
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
      this.#settle(call, reason);
      return;
    }
    this.#pending.set(call.id, call);
    this.#pendingChanged();
    this.#cork.hold();
    this.#socket.write(frame);
    if (body !== null) {
      this.#sendBody(call, body).catch((err: unknown) => {
        this.#giveUp(call, err instanceof Error ? err : new Error(String(err)));
      });
    }
  }

  async #sendBody(call: PendingCall, body: BodySource): Promise<void> {
    const chunkBytes = Math.min(this.limits.chunkBytes, this.limits.maxFrameBytes - 64);
    const chunks = bodyChunks(body, chunkBytes);
    // One chunk is read ahead while the previous one is written and its credit
    // awaited, so that reading the source (a file: several thread-pool round
    // trips per chunk) overlaps the transfer instead of stalling it. Beyond that
    // one chunk, the source is pulled no faster than the daemon grants credit.
    let ahead = chunks.next();
    ahead.catch(() => undefined);
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
    }
    await this.#write(encodeFrame({ t: 'end', id: call.id }));
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

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #onData(chunk: Buffer): void {
    if (this.#failure) return;
    try {
      for (const raw of this.#decoder.push(chunk)) this.#onMessage(parseServerMessage(raw));
    } catch (err) {
      this.#fail(err instanceof StorageError ? err : new ProtocolError(String(err), { cause: err }));
      this.#socket.destroy();
    }
  }

  #onMessage(message: ServerMessage): void {
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
        if ((message.t === 'end') !== call.download instanceof IncomingDownload) {
          throw new ProtocolError(`storaged sent ${message.t} for call ${message.id}, which does not fit a ${call.op}`);
        }
        this.#pending.delete(message.id);
        this.#slots.release();
        this.#pendingChanged();
        const error = message.t === 'error' ? errorFromWire(message.error) : null;
        if (call.download instanceof IncomingDownload) {
          if (error) call.download.fail(error);
          else call.download.end();
        } else if (message.t === 'result') {
          this.#settle(call, null, message.value);
        } else {
          this.#settle(call, error);
        }
        return;
      }
      case 'stream': {
        const call = this.#streamCall(message.id);
        if (call === null) return;
        if (call.download !== true) throw new ProtocolError(`storaged started a download for call ${message.id}, a ${call.op}`);
        const id = call.id;
        const download = new IncomingDownload(
          (chunks) => this.#writeControl({ t: 'credit', id, chunks }),
          () => this.#cancelDownload(call),
        );
        call.download = download;
        this.#settle(call, null, { info: message.value, body: download.body });
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
  #cancelDownload(call: PendingCall): void {
    if (this.#pending.get(call.id) !== call) return;
    this.#pending.delete(call.id);
    this.#abandoned.add(call.id);
    this.#writeControl({ t: 'abort', id: call.id });
    this.#pendingChanged();
  }

  /** Small control frames (credit, abort) go out at once, whatever the back-pressure. */
  #writeControl(message: { t: 'credit'; id: number; chunks: number } | { t: 'abort'; id: number }): void {
    if (this.#failure === null && this.#socket.writable) this.#socket.write(encodeFrame(message));
  }

  #settle(call: PendingCall, err: Error | null, value?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer) clearTimeout(call.timer);
    call.credit?.close(err ?? new ClosedError('the call has been answered'));
    if (err) {
      if (call.stream && !call.stream.readableEnded) call.stream.destroy();
      call.reject(err);
    } else {
      call.resolve(value);
    }
  }

  /** We stop waiting (timeout, failed body stream): tell the daemon, and drop its answer when it comes. */
  #giveUp(call: PendingCall, err: Error): void {
    if (call.settled) return;
    if (this.#pending.get(call.id) === call) {
      this.#pending.delete(call.id);
      this.#abandoned.add(call.id);
      if (this.#failure === null && this.#socket.writable) this.#socket.write(encodeFrame({ t: 'abort', id: call.id }));
      this.#pendingChanged();
    }
    this.#settle(call, err);
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
      else this.#settle(call, reason);
    }
    this.#slots.failAll(reason);
    for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(reason);
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
