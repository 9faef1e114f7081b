// An object (or an inclusive byte range of it) as a Readable, fetched in parts
// by the pool's threads. At most `readAhead` parts are asked for or held
// before the reader takes them, and the next is asked for only when the
// stream's buffer has drained, so a slow reader costs at most
// (readAhead + 1) parts of memory (the +1 is the part already handed to the
// stream's buffer), never the whole object. Destroying the stream cancels the
// parts in flight.
//
// Parts live in shared slots (src/daemon/memory/slot-pool.ts). A reader that knows when it is
// done with a part's bytes (the socket's download sender, once they are
// written) hands them to givePartBack so the next part reuses the memory;
// any other reader simply drops them and they are collected as garbage.
//
// A read of one part (a small photo whose size the catalog knows) can be
// fetched on the main thread instead (`onThisThread`): one request over the
// main thread's raw connections, straight into a slot, handed on whole.

import { Readable } from 'node:stream';
import { ClosedError, InternalError, RangeNotSatisfiableError, StorageError, ValidationError } from '../../protocol/errors';
import { newCancelFlag, raiseCancelFlag } from '../workers/cancel-flag';
import { downloadPartHere, downloadPartIn } from '../workers/part-tasks';
import { metricsOf, type PoolMetrics } from '../workers/pool-metrics';
import { SlotPool } from '../memory/slot-pool';
import type { MemoryBudget } from '../memory/memory-budget';
import type { ByteRange } from './blob-store';
import { minioCall, type PartTransfers } from './part-transfers';
import { withRetries } from './transfer-retry';

export const DEFAULT_READ_AHEAD = 2;

/**
 * Bytes per downloaded part, apart from the upload's part size (S3's 5 MiB
 * floor binds only uploads). A part is one ArrayBuffer made in a worker and
 * moved here, so a read holds (readAhead + 1) of them at once and every one
 * becomes main-thread garbage once sent. With the upload's 16 MiB, reading a
 * 300 MB body back raised the daemon's peak RSS by ~130 MiB; with 4 MiB by
 * ~70 MiB, at the same read time within this machine's noise (2.0-3.7 s
 * against 2.5-3.4 s; test/integration/large-bodies.test.ts, first test).
 * With one worker thread, 4 MiB parts peaked at 201-208 MiB over the whole
 * test, 2 MiB at 185-194 MiB and 1 MiB at 188-204 MiB (three runs each):
 * below 2 MiB the request per part costs more than the smaller parts save.
 */
export const DOWNLOAD_PART_BYTES = 2 * 1024 * 1024;

/** Kept between reads: the read-ahead of a few concurrent downloads, 16 MiB (countSparePartsIn sizes it from the budget). */
const SPARE_SLOTS = 8;

const slots = new SlotPool(DOWNLOAD_PART_BYTES, SPARE_SLOTS);

/**
 * Slots for parts of at most this many bytes (a photo of 200 KB, the tail
 * of a larger read). A 2 MiB slot for each of them would take ten times its
 * bytes from the memory budget, and a fresh one (whenever more are lent than
 * kept spare) costs a zeroed 2 MiB: that was 6% of the daemon's time at 16
 * downloads of 200 KB in flight.
 */
export const SMALL_PART_BYTES = 256 * 1024;

/**
 * Kept between reads (countSparePartsIn sizes it from the budget: 51 at the
 * default). Fewer than the downloads in flight make slots churn: at 16
 * downloads of 200 KB in flight, 12 spare slots left up to 16 MiB of them
 * to the garbage collector at a time, 64 left 5 MiB; memory.mixed runs 32.
 */
const SPARE_SMALL_SLOTS = 51;

const smallSlots = new SlotPool(SMALL_PART_BYTES, SPARE_SMALL_SLOTS);

/**
 * Counts the spare part slots in the memory budget (which may make the
 * pools drop them to make room for a share, and drops them after a while
 * unused), and caps them: the 2 MiB ones at `bytes`, the small ones at a
 * twentieth of it (51 at the default 256 MiB). Returns what stops it (the
 * daemon's close).
 */
export function countSparePartsIn(budget: MemoryBudget, bytes: number): () => void {
  slots.keepAtMost(Math.max(1, Math.floor(bytes / DOWNLOAD_PART_BYTES)));
  smallSlots.keepAtMost(Math.max(1, Math.floor(bytes / 20 / SMALL_PART_BYTES)));
  // The budget asks its pools to drop spares in the order they joined: small
  // slots first, so that room for a small share does not cost a 2 MiB slot
  // that the next part would then have to make again.
  smallSlots.countIn(budget);
  slots.countIn(budget);
  return () => {
    slots.leave(budget);
    smallSlots.leave(budget);
  };
}

/** Part slots lent to downloads now. */
export function lentPartSlots(): number {
  return slots.lentCount;
}

/** Small part slots (SMALL_PART_BYTES) lent to downloads now. */
export function lentSmallPartSlots(): number {
  return smallSlots.lentCount;
}

/** Part slots made since start, 2 MiB ones and small ones (slots not found spare). */
export function madePartSlots(): { parts: number; small: number } {
  return { parts: slots.madeCount, small: smallSlots.madeCount };
}

/** Small part slots kept for reuse now. */
export function spareSmallPartSlots(): number {
  return smallSlots.spareCount;
}

/**
 * Returns the memory of a part this module's streams handed out, once
 * nothing reads `bytes` (or any other view of its part) any more. Bytes that
 * did not come from such a stream are ignored.
 */
export function givePartBack(bytes: Uint8Array): void {
  // Each pool ignores memory that is not its own.
  slots.give(bytes);
  smallSlots.give(bytes);
}

/** Slots kept for reuse now (tests check that reads give theirs back). */
export function sparePartSlots(): number {
  return slots.spareCount;
}

/**
 * The last slice of each part handed out. A reader that gives parts back
 * must know when a part is over without waiting for the next one: under the
 * memory budget the next part may wait for this one's memory.
 */
const lastSlices = new WeakSet<Uint8Array>();

/** Whether `piece` is the last slice of its part (no later piece views the same memory). */
export function endsItsPart(piece: Uint8Array): boolean {
  return lastSlices.has(piece);
}

/** Chunks handed to the reader: a socket or HTTP response writes these comfortably. */
const SLICE_BYTES = 1024 * 1024;

export interface ReadInPartsRequest {
  bucket: string;
  key: string;
  /** The whole object when absent. */
  range?: ByteRange;
  /** Parts asked for ahead of the reader; at least 1. */
  readAhead?: number;
  /**
   * Fetch on the calling thread (PartTransfers.endpoint) instead of the
   * pool's: for a range of one part, which is then one request and no hop.
   */
  onThisThread?: boolean;
  /**
   * The whole object's size as the catalog has it: an object of another
   * size fails the read (INTERNAL) instead of serving bytes that do not fit
   * what the caller was told.
   */
  objectSize?: number;
}

interface Pending {
  bytes: number;
  part: Promise<Buffer>;
}

/**
 * Resolves once the first part has arrived, so a missing object or a range
 * past its end is an error here (NOT_FOUND, RANGE_NOT_SATISFIABLE), not a
 * stream error later.
 */
export async function readInParts(t: PartTransfers, req: ReadInPartsRequest): Promise<Readable> {
  const readAhead = Math.max(1, req.readAhead ?? t.readAhead ?? DEFAULT_READ_AHEAD);
  const partBytes = DOWNLOAD_PART_BYTES;
  const r = req.range;
  if (r !== undefined && !(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.end >= r.start)) {
    throw new ValidationError(`a byte range needs integers 0 ≤ start ≤ end, got ${String(r.start)}-${String(r.end)}`);
  }
  const start = req.range?.start ?? 0;
  // Only this thread reads it when the parts are fetched here: no shared memory to make.
  const cancel = req.onThisThread === true ? new Int32Array(1) : newCancelFlag();
  // Ends the waits for the budget of parts not yet fetched when the reader is
  // destroyed. Made with the second part: nothing can stop the first one's
  // wait (there is no reader yet), and most reads are one part.
  let stopped: AbortController | null = null;
  const metrics = metricsOf(t.pool);
  const fetchPart = async (from: number, to: number, stop?: AbortSignal) => {
    metrics.addReadAhead(to - from + 1);
    const slotPool = to - from + 1 <= SMALL_PART_BYTES ? smallSlots : slots;
    // Past the budget a part waits for memory to come free: the download slows down instead of the daemon growing.
    // Naming the pool lets the share take one of its spare slots rather than have it dropped to make room.
    const share = t.budget === undefined ? null : await t.budget.acquire(slotPool.slotBytes, stop, slotPool);
    const into = slotPool.take(share);
    const task = { settings: t.settings, bucket: req.bucket, key: req.key, start: from, end: to, into, cancel };
    const download = req.onThisThread === true ? () => downloadPartHere(t.pool, t.endpoint, task) : () => downloadPartIn(t.pool, task);
    try {
      const { length, objectSize } = await withRetries(t.retry, undefined, download, () => metrics.partRetries++);
      return { bytes: into.subarray(0, length), objectSize };
    } catch (err) {
      // The task has ended (a retry waits for the try before it), so no thread writes the slot any more.
      slotPool.give(into);
      throw err;
    }
  };

  const firstEnd = Math.min(req.range?.end ?? Infinity, start + partBytes - 1);
  let first;
  try {
    first = await fetchPart(start, firstEnd);
  } catch (err) {
    metrics.addReadAhead(-(firstEnd - start + 1));
    if (req.range === undefined && err instanceof StorageError && err.code === 'RANGE_NOT_SATISFIABLE') {
      // S3 refuses any range of an empty object, even bytes=0-.
      const info = await minioCall(`stat ${req.bucket}/${req.key}`, () => t.client.statObject(req.bucket, req.key));
      if (info.size === 0) return Readable.from([]);
    }
    throw err;
  }
  if (req.objectSize !== undefined && first.objectSize !== req.objectSize) {
    metrics.addReadAhead(-(firstEnd - start + 1));
    givePartBack(first.bytes);
    throw new InternalError(`${req.bucket}/${req.key} holds ${first.objectSize} bytes where the catalog says ${req.objectSize}`);
  }
  const end = req.range?.end ?? first.objectSize - 1;
  if (end >= first.objectSize) {
    metrics.addReadAhead(-(firstEnd - start + 1));
    givePartBack(first.bytes);
    throw new RangeNotSatisfiableError(`bytes ${start}-${end} asked for, but ${req.bucket}/${req.key} holds ${first.objectSize} bytes`);
  }
  // The first part's count covered the part size; what arrived may be less (a short object).
  metrics.addReadAhead(first.bytes.length - (firstEnd - start + 1));
  const head: Pending = { bytes: first.bytes.length, part: Promise.resolve(first.bytes) };
  const stop = (reason: Error) => (stopped ??= new AbortController()).abort(reason);
  const reader = new PartReader(metrics, cancel, stop, [head], firstEnd + 1, end, partBytes, readAhead, (from, to) =>
    fetchPart(from, to, (stopped ??= new AbortController()).signal).then((r) => r.bytes),
  );
  if (firstEnd >= end) reader.only = first.bytes;
  return reader;
}

/**
 * The bytes of a read that came in one part (a photo of at most one part,
 * fetched before the stream was made), for a reader that writes them in one
 * go: no stream, async iterator or promise per piece in between, which cost
 * the gateway ~20 µs of its ~250 µs per 200 KB download. The stream must not
 * have been read; it is over once this returns bytes (an unread stream holds
 * nothing else). Give the bytes back (givePartBack) once they are written.
 * Null for any other stream.
 */
export function takeOnlyPart(body: Readable): Buffer | null {
  if (!(body instanceof PartReader) || body.only === null) return null;
  const bytes = body.only;
  body.only = null;
  body.queue.length = 0;
  body.metrics.addReadAhead(-bytes.length);
  lastSlices.add(bytes);
  return bytes;
}

class PartReader extends Readable {
  #next: number;
  #busy = false;
  /** The whole read when it is one part already here, until read or taken (takeOnlyPart). */
  only: Buffer | null = null;

  constructor(
    readonly metrics: PoolMetrics,
    readonly cancel: Int32Array,
    readonly stop: (reason: Error) => void,
    readonly queue: Pending[],
    next: number,
    readonly end: number,
    readonly partBytes: number,
    readonly readAhead: number,
    readonly fetch: (from: number, to: number) => Promise<Buffer>,
  ) {
    // Object mode hands each slice on as it is: a byte-mode stream joins the
    // slices it holds into one new Buffer whenever a reader asks for more.
    super({ objectMode: true, highWaterMark: 1 });
    this.#next = next;
  }

  #topUp(): void {
    while (this.queue.length < this.readAhead && this.#next <= this.end) {
      const from = this.#next;
      const to = Math.min(this.end, from + this.partBytes - 1);
      this.#next = to + 1;
      const part = this.fetch(from, to);
      // Handled when the reader gets to it; until then a failure must not count as unhandled.
      part.catch(() => undefined);
      this.queue.push({ bytes: to - from + 1, part });
    }
  }

  override _read(): void {
    // Pushing a part's slices can call _read again; the part being handed on finishes first.
    if (this.#busy) return;
    this.only = null;
    this.#topUp();
    const head = this.queue.shift();
    if (head === undefined) {
      this.push(null);
      return;
    }
    this.#busy = true;
    head.part.then(
      (bytes) => {
        this.metrics.addReadAhead(-head.bytes);
        if (this.destroyed) {
          givePartBack(bytes);
          return;
        }
        for (let at = 0; at < bytes.length; at += SLICE_BYTES) {
          const slice = bytes.subarray(at, at + SLICE_BYTES);
          if (at + SLICE_BYTES >= bytes.length) lastSlices.add(slice);
          this.push(slice);
        }
        this.#busy = false;
        if (this.queue.length === 0 && this.#next > this.end) this.push(null);
      },
      (err: unknown) => {
        this.metrics.addReadAhead(-head.bytes);
        this.destroy(err as Error);
      },
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (err === null && this.readableEnded) {
      // Read to the end: no part is in flight or queued, so there is nothing
      // to cancel (and a ClosedError with its stack per download was 1% of
      // the daemon's time at 16 downloads of 200 KB in flight).
      callback(null);
      return;
    }
    raiseCancelFlag(this.cancel);
    this.stop(new ClosedError('the download was stopped'));
    for (const pending of this.queue.splice(0)) {
      pending.part.then(
        (bytes) => {
          this.metrics.addReadAhead(-pending.bytes);
          givePartBack(bytes);
        },
        () => this.metrics.addReadAhead(-pending.bytes),
      );
    }
    callback(err);
  }
}
