// A body's spool file (mode 0600), written behind the receive. Chunks that
// arrive while a write is on the thread pool wait and go out together in one
// writev, so a busy daemon hands the pool one write per several chunks rather
// than one per 256 KiB chunk. Each hand-over wakes a pool thread, and on a
// host with as many busy processes as cores the main thread then waits for a
// core: with four large stores arriving, a CPU profile of the daemon put 29%
// of its main thread's busy time in submitting spool writes.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Bytes that may wait behind the write in flight before append() makes the
 * receive wait too: a few chunks' worth, so a slow disk holds back the sender
 * (through its credit) instead of filling memory.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/** Called after each write with the file, the bytes it now holds and the chunks that write took. */
export type SpoolWritten = (path: string, bytes: number, chunks: readonly Uint8Array[]) => void;

/**
 * The names of spool files: a prefix no other program would choose, then a
 * random UUID. STORAGED_SPOOL_DIR may be a directory other programs use too
 * (/var/tmp), so the cleanup at start removes only names of exactly this form;
 * a bare `*.part` could be anyone's download in progress.
 */
const SPOOL_PREFIX = 'storaged-spool-';
const SPOOL_NAME = /^storaged-spool-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.part$/;

/** Whether `name` (a file name, no directory) is one SpoolFile makes. */
export function isSpoolName(name: string): boolean {
  return SPOOL_NAME.test(name);
}

export class SpoolFile {
  readonly path: string;
  readonly #onWritten: SpoolWritten;
  #handle: fs.promises.FileHandle | null = null;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #written = 0;
  #flushing: Promise<void> | null = null;
  #failure: unknown = null;

  constructor(dir: string, onWritten: SpoolWritten) {
    this.path = path.join(dir, `${SPOOL_PREFIX}${randomUUID()}.part`);
    this.#onWritten = onWritten;
  }

  async open(): Promise<void> {
    this.#handle = await fs.promises.open(this.path, 'wx', 0o600);
  }

  /** Queues bytes for the file. Waits only while too many are queued; throws once a write has failed. */
  async append(data: Uint8Array): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    if (data.length === 0) return;
    this.#queue.push(data);
    this.#queuedBytes += data.length;
    this.#flushing ??= this.#flush();
    if (this.#queuedBytes > MAX_QUEUED_BYTES) await this.#settled();
  }

  /** Every byte appended is in the file, which is closed. */
  async finish(): Promise<void> {
    await this.#settled();
    await this.#handle?.close();
    this.#handle = null;
  }

  /** Removes the file, once no write is in flight. Never throws. */
  async discard(): Promise<void> {
    this.#queue = [];
    await this.#settled().catch(() => undefined);
    await this.#handle?.close().catch(() => undefined);
    this.#handle = null;
    await fs.promises.rm(this.path, { force: true });
  }

  async #settled(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#failure !== null) throw this.#failure;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === null) {
        const batch = this.#queue;
        this.#queue = [];
        this.#queuedBytes = 0;
        this.#written += await writeAll(this.#handle!, batch, this.#written);
        this.#onWritten(this.path, this.#written, batch);
      }
    } catch (err) {
      this.#failure = err;
    } finally {
      this.#flushing = null;
    }
  }
}

/** Writes every byte of `chunks` at `position`, resuming after a short write; returns the bytes written. */
async function writeAll(handle: fs.promises.FileHandle, chunks: Uint8Array[], position: number): Promise<number> {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  let left: Uint8Array[] = chunks;
  let done = 0;
  while (done < total) {
    const { bytesWritten } = await handle.writev(left, position + done);
    done += bytesWritten;
    left = unwritten(left, bytesWritten);
  }
  return total;
}

/** What remains of `chunks` once their first `bytes` are written. */
export function unwritten(chunks: Uint8Array[], bytes: number): Uint8Array[] {
  let skip = bytes;
  let at = 0;
  while (at < chunks.length && skip >= chunks[at]!.length) skip -= chunks[at++]!.length;
  const rest = chunks.slice(at);
  if (rest.length > 0 && skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
