// One keep-alive HTTP/1.1 connection to an S3 server over plain TCP, for
// ranged reads. Its socket reads into one Buffer per thread (net's `onread`)
// and each read is copied at once where the response reader puts it (a
// part's memory), instead of a fresh 64 KiB ArrayBuffer per read: V8 frees
// young ArrayBuffers only once ~32 MiB of them have piled up, so a
// per-read allocation cost every worker ~30 MiB of resident memory while it
// read. Sharing the buffer between a thread's sockets is safe because the
// callback consumes each read before the next one can land.
//
// Once the head is in and the rest of a Content-Length body has a place to
// go, the socket reads straight into that place (net's `onread` takes a
// function that names the next read's buffer), bounded by the bytes still to
// come, so no byte of a later answer can land there. The copy this skips
// went into shared memory (a part slot), which V8 copies word by word: 12%
// of the main thread's time at 16 downloads of 200 KB in flight (perf, issue
// 13). A read that waits for a head takes at most HEAD_READ_BYTES, so that
// only the start of a body that has already arrived whole is copied; chunked
// bodies come through the whole thread buffer.

import * as net from 'node:net';
import { InternalError } from '../protocol/errors';
import { cancelledError, isCancelled, type CancelFlag } from './transfer-cancel';
import { ResponseReader, type ResponseHead } from './response-reader';

const READ_BUFFER_BYTES = 256 * 1024;
/** MinIO's head is under 1 KiB: a first read this long holds it, and little of the body. */
const HEAD_READ_BYTES = 4 * 1024;
let threadReadBuffer: Buffer | null = null;
/** The start of threadReadBuffer: the same memory, a shorter read. */
let threadHeadBuffer: Buffer | null = null;

export interface ExchangeOptions {
  /** A request whose connection is silent this long fails with ETIMEDOUT. */
  idleTimeoutMs: number;
  cancel?: CancelFlag | undefined;
}

interface Exchange {
  resolve(head: ResponseHead): void;
  reject(err: Error): void;
  cancel: CancelFlag | undefined;
}

function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A response whose connection ended `filled` bytes into a body of `length` (null: chunked). */
export function connectionCutShort(filled: number, length: number | null): Error {
  const of = length === null ? 'bytes of a chunked body' : `of ${length} body bytes`;
  return connectionError('ECONNRESET', `MinIO closed the connection after ${filled} ${of}`);
}

export class RawConnection {
  readonly #socket: net.Socket;
  readonly #reader = new ResponseReader();
  #exchange: Exchange | null = null;
  #closed = false;
  #answered = false;
  /** Requests sent on it: a failure before any answer on a reused connection may be a stale one. */
  requests = 0;
  /** Set by the pool while the connection waits idle. */
  onIdleClose: (() => void) | null = null;

  constructor(host: string, port: number) {
    threadReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
    threadHeadBuffer ??= threadReadBuffer.subarray(0, HEAD_READ_BYTES);
    this.#socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.#nextReadInto(), callback: (bytes, buffer) => this.#onRead(bytes, buffer) },
    });
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('end', () => this.#fail(this.#cutShort()));
    this.#socket.on('close', () => this.#fail(this.#cutShort()));
    this.#socket.on('timeout', () => {
      if (this.#exchange === null) this.#fail(null);
      else this.#fail(connectionError('ETIMEDOUT', `no bytes from MinIO for ${this.#socket.timeout} ms`));
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether any byte of the current (or last) answer has arrived. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Body bytes of the last answer: its length once exchange() has resolved. */
  get bodyRead(): number {
    return this.#reader.bodyRead;
  }

  /**
   * Sends a bodiless request (its whole head, CRLFs included) and reads the
   * answer; `bodyFor` says where its body goes (see ResponseReader). Resolves
   * once the whole answer is in; the connection is then free for another.
   */
  exchange(request: string, bodyFor: (head: ResponseHead) => Uint8Array, options: ExchangeOptions): Promise<ResponseHead> {
    if (this.#closed) return Promise.reject(connectionError('ECONNRESET', 'the connection to MinIO has closed'));
    if (this.#exchange !== null) throw new InternalError('a raw connection carries one request at a time; take another from the pool');
    this.requests++;
    this.#answered = false;
    this.#reader.reset(bodyFor);
    return new Promise<ResponseHead>((resolve, reject) => {
      this.#exchange = { resolve, reject, cancel: options.cancel };
      this.#socket.ref();
      this.#socket.setTimeout(options.idleTimeoutMs);
      this.#socket.write(request, 'latin1');
    });
  }

  /** Idle in a pool: closed quietly after `ms` without use, and no reason for the process to stay up. */
  idle(ms: number): void {
    this.#socket.setTimeout(ms);
    this.#socket.unref();
  }

  destroy(): void {
    this.#fail(null);
  }

  /**
   * Where the socket's next read goes: the body's own room, else the
   * thread's buffer: all of it for a chunked body, its start while the next
   * head is awaited (after a complete answer, too: that is when the
   * following answer's head comes).
   */
  #nextReadInto(): Uint8Array {
    const reader = this.#reader;
    return reader.directRoom() ?? (reader.head === null || reader.complete ? threadHeadBuffer! : threadReadBuffer!);
  }

  #onRead(bytes: number, buffer: Uint8Array): boolean {
    const exchange = this.#exchange;
    if (exchange === null) {
      // Nothing was asked: a server that talks out of turn cannot be trusted with the next request.
      this.#fail(null);
      return false;
    }
    this.#answered = true;
    if (isCancelled(exchange.cancel)) {
      this.#fail(cancelledError());
      return false;
    }
    try {
      // A read into the thread's buffer is copied on; one into the body's own room is already there.
      const complete = buffer.buffer === threadReadBuffer!.buffer ? this.#reader.push(buffer, 0, bytes) : this.#reader.landed(bytes);
      if (!complete) return true;
    } catch (err) {
      this.#fail(err as Error);
      return false;
    }
    const head = this.#reader.head!;
    this.#exchange = null;
    if (!head.keepAlive) this.#fail(null);
    exchange.resolve(head);
    return true;
  }

  #cutShort(): Error {
    const head = this.#reader.head;
    if (head === null) return connectionError('ECONNRESET', 'MinIO closed the connection before it answered');
    return connectionCutShort(this.#reader.bodyRead, head.contentLength);
  }

  /** Ends the connection for good; the request in flight, if any, fails with `err`. */
  #fail(err: Error | null): void {
    const exchange = this.#exchange;
    this.#exchange = null;
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.destroy();
      this.onIdleClose?.();
    }
    if (exchange !== null) exchange.reject(err ?? this.#cutShort());
  }
}
