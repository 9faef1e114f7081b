// The daemon's memory budget (STORAGED_MEMORY_BUDGET_MB): the bytes that
// transfers may hold in memory at once, across every caller and both doors.
// A transfer takes its share before it holds the bytes: downloaded parts
// (read-ahead), a store's in-memory body and frames, a gateway JSON upload.
// Past the budget a new share WAITS, in arrival order, until earlier ones
// are given back; the wait ends early when the caller goes away (its signal)
// and, past maxWaitMs or with too many already waiting, fails with a
// retryable UNAVAILABLE that says when to come back. So load past the budget
// becomes latency or a retry, never an out-of-memory crash.
//
// The budget counts what the daemon decided to hold, not what V8 has yet to
// collect: bodies go back to bounded pools (slot-pool.ts) rather than to the
// garbage collector, so that the two stay close. What those pools keep spare
// counts too: a share that does not fit first makes the pools drop spare
// memory (to the garbage collector), and memory given back is kept spare
// only while the budget has room for it. Without that, spares worth about
// the budget again sat beside shares worth the whole budget.

import { UnavailableError } from '../../protocol/errors';

export const DEFAULT_MEMORY_BUDGET_MB = 256;
/** Below this the daemon's fixed costs (SQLite, V8, the pool's threads) leave transfers nothing. */
export const MIN_MEMORY_BUDGET_MB = 32;

/** How long a share may wait before the caller is told to come back later. */
const DEFAULT_MAX_WAIT_MS = 30_000;
/** Waiters past this are refused at once: each holds a call (and its caller) open. */
const DEFAULT_MAX_WAITERS = 1024;
/** What the refusal suggests: long enough for a few transfers to finish. */
const RETRY_AFTER_SECONDS = 1;

interface Waiter {
  bytes: number;
  /** The pool whose spare memory the share is for, if any: a spare block of it may be lent instead of dropped. */
  from: SpareHolder | undefined;
  grant: () => void;
  fail: (err: unknown) => void;
}

/** Shares of one budget given back; each release() counts once. */
export interface MemoryShare {
  readonly bytes: number;
  release(): void;
}

/**
 * Memory kept for reuse whose bytes the budget counts (a SlotPool): the
 * budget asks it to drop some when a share needs the room, or to set a
 * block aside for a share that will take that block.
 */
export interface SpareHolder {
  /** Drops spare memory worth at least `bytes` (or all it keeps); returns the bytes dropped. */
  dropSpare(bytes: number): number;
  /** Sets aside a spare block of exactly `bytes` for the share now granted; false when it keeps none. */
  reserveSpare(bytes: number): boolean;
}

/** What keepSpare did with memory given back. */
export type SpareOutcome = 'kept' | 'lent' | 'dropped';

export interface BudgetFigures {
  limitBytes: number;
  /** Bytes held by transfers' shares. */
  inUseBytes: number;
  /** Bytes kept spare by the pools (SpareHolder); the budget counts them beside inUseBytes. */
  spareBytes: number;
  peakInUseBytes: number;
  waiting: number;
  /** Shares that waited, and those refused with UNAVAILABLE, since start. */
  waitedTotal: number;
  refusedTotal: number;
}

export class MemoryBudget {
  readonly #waiters: Waiter[] = [];
  readonly #holders = new Set<SpareHolder>();
  #inUse = 0;
  #spare = 0;
  #peak = 0;
  #waited = 0;
  #refused = 0;

  constructor(
    readonly limitBytes: number,
    readonly options: { maxWaitMs?: number; maxWaiters?: number } = {},
  ) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) throw new RangeError(`a memory budget needs a positive byte count, got ${limitBytes}`);
  }

  /**
   * Takes `bytes` of the budget, waiting while it is spent. A share larger
   * than the whole budget is taken once nothing else is held. Rejects with
   * the signal's reason when it fires first, and with UnavailableError when
   * the wait is too long or too many wait already. `from` is the pool the
   * share's memory will be taken from: a spare block of it is then lent
   * rather than dropped to make room.
   */
  async acquire(bytes: number, signal?: AbortSignal, from?: SpareHolder): Promise<MemoryShare> {
    const want = this.#clamp(bytes);
    signal?.throwIfAborted();
    if (this.#waiters.length === 0 && this.#makeRoom(want, from)) return this.#grant(want);
    if (this.#waiters.length >= (this.options.maxWaiters ?? DEFAULT_MAX_WAITERS)) {
      this.#refused++;
      throw this.#refusal(`${this.#waiters.length} transfers are already waiting for memory`);
    }
    this.#waited++;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes: want,
        from,
        grant: () => {
          cleanup();
          resolve();
        },
        fail: (err) => {
          cleanup();
          const at = this.#waiters.indexOf(waiter);
          if (at !== -1) this.#waiters.splice(at, 1);
          // The one that left may have been what held back those behind it.
          this.#wake();
          reject(err);
        },
      };
      const onAbort = () => waiter.fail(signal!.reason);
      const timer = setTimeout(() => {
        this.#refused++;
        waiter.fail(this.#refusal(`no memory came free within ${this.options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS} ms`));
      }, this.options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
    return this.#share(want);
  }

  /** Takes `bytes` now if they fit (spare memory dropped to make room) and nobody waits; null otherwise. */
  tryAcquire(bytes: number, from?: SpareHolder): MemoryShare | null {
    const want = this.#clamp(bytes);
    return this.#waiters.length === 0 && this.#makeRoom(want, from) ? this.#grant(want) : null;
  }

  /** Counts `holder`'s spare memory from now on (it has none yet); holders are asked to drop spares in the order they were added. */
  addSpareHolder(holder: SpareHolder): void {
    this.#holders.add(holder);
  }

  /** Stops counting `holder`'s spare memory; it has forgotten (forgetSpare) what it kept. */
  removeSpareHolder(holder: SpareHolder): void {
    this.#holders.delete(holder);
  }

  /**
   * Memory of `bytes` given back to `holder`, with `returning` (the share it
   * was lent with, if any) released at the same time. Kept spare ('kept',
   * counted from now on) only while nobody waits and the budget has room;
   * lent at once ('lent') to the first waiting share when that one asked
   * for exactly such a block of this holder, so a flood past the budget
   * reuses its blocks; otherwise 'dropped', and the holder lets it go.
   * For 'kept' and 'lent' the holder keeps the block (set aside for 'lent').
   */
  keepSpare(bytes: number, returning: MemoryShare | null, holder: SpareHolder): SpareOutcome {
    if (!this.#holders.has(holder)) {
      returning?.release();
      return 'dropped';
    }
    // Released without waking anyone yet: the block itself may go to the first waiter.
    if (returning !== null && !(returning instanceof Share && returning.budget === this && returning.end())) returning.release();
    const head = this.#waiters[0];
    if (head !== undefined && head.from === holder && head.bytes === bytes && this.#makeRoom(bytes)) {
      this.#waiters.shift();
      this.#count(bytes);
      head.grant();
      this.#wake();
      return 'lent';
    }
    this.#wake();
    if (this.#waiters.length > 0 || !this.#fits(bytes)) return 'dropped';
    this.#spare += bytes;
    this.#peak = Math.max(this.#peak, this.#inUse + this.#spare);
    return 'kept';
  }

  /** `bytes` a holder kept spare are no longer (dropped, or lent without a share of their own). */
  forgetSpare(bytes: number): void {
    this.#spare = Math.max(0, this.#spare - bytes);
    this.#wake();
  }

  figures(): BudgetFigures {
    return {
      limitBytes: this.limitBytes,
      inUseBytes: this.#inUse,
      spareBytes: this.#spare,
      peakInUseBytes: this.#peak,
      waiting: this.#waiters.length,
      waitedTotal: this.#waited,
      refusedTotal: this.#refused,
    };
  }

  #clamp(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`a memory share needs a byte count ≥ 0, got ${bytes}`);
    return Math.min(bytes, this.limitBytes);
  }

  #fits(bytes: number): boolean {
    return this.#inUse + this.#spare + bytes <= this.limitBytes;
  }

  /**
   * Whether a share of `bytes` may be counted now: a spare block of `from`
   * set aside for it (the bytes move from spare to the share), or room made
   * by asking the holders to drop spare memory.
   */
  #makeRoom(bytes: number, from?: SpareHolder): boolean {
    if (from !== undefined && this.#holders.has(from) && from.reserveSpare(bytes)) {
      this.#spare -= bytes;
      return true;
    }
    for (const holder of this.#holders) {
      const short = this.#inUse + this.#spare + bytes - this.limitBytes;
      if (short <= 0) break;
      this.#spare = Math.max(0, this.#spare - holder.dropSpare(short));
    }
    return this.#fits(bytes);
  }

  #count(bytes: number): void {
    this.#inUse += bytes;
    this.#peak = Math.max(this.#peak, this.#inUse + this.#spare);
  }

  #grant(bytes: number): MemoryShare {
    this.#count(bytes);
    return this.#share(bytes);
  }

  /** A share whose bytes are already counted (granted directly, or by #wake). */
  #share(bytes: number): MemoryShare {
    return new Share(this, bytes, (wake) => {
      this.#inUse -= bytes;
      if (wake) this.#wake();
    });
  }

  /** Grants waiting shares in arrival order while the first one fits. */
  #wake(): void {
    while (this.#waiters.length > 0 && this.#makeRoom(this.#waiters[0]!.bytes, this.#waiters[0]!.from)) {
      const next = this.#waiters.shift()!;
      this.#count(next.bytes);
      next.grant();
    }
  }

  #refusal(why: string): UnavailableError {
    const mib = Math.round(this.limitBytes / (1024 * 1024));
    return new UnavailableError(
      `the daemon's memory budget (${mib} MiB, STORAGED_MEMORY_BUDGET_MB) is taken by transfers in progress: ${why}; retry in about ${RETRY_AFTER_SECONDS} s`,
      { details: { retryAfterSeconds: RETRY_AFTER_SECONDS } },
    );
  }
}

/** A share of one budget; keepSpare ends it without waking waiters, so its block can go to the first one. */
class Share implements MemoryShare {
  #held = true;

  constructor(
    readonly budget: MemoryBudget,
    readonly bytes: number,
    readonly onEnd: (wake: boolean) => void,
  ) {}

  release(): void {
    if (this.#held) {
      this.#held = false;
      this.onEnd(true);
    }
  }

  /** Gives the bytes back without waking waiters; false when given back already. */
  end(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    this.onEnd(false);
    return true;
  }
}

const MIB = 1024 * 1024;

/** What the budget sizes (the operator's own settings cap them). */
export interface BudgetedSizes {
  /** Bodies past this are spooled to a file: an in-memory body costs ~4.5x its size (daemon-config.ts). */
  spoolThresholdBytes: number;
  /** Download parts asked for ahead of the reader. */
  readAhead: number;
  /** Multipart parts in flight per upload. */
  partConcurrency: number;
  /** Download part slots kept between transfers. */
  sparePartBytes: number;
  /** Upload-frame slots kept between transfers. */
  spareFrameBytes: number;
}

/**
 * Sizes from a budget. At the default 256 MiB the first three are the
 * settings measured before the budget existed (4 MiB spool threshold, 2 parts
 * of read-ahead, 4 parts in flight); a smaller budget shrinks them so that
 * one transfer never takes more than a small share of it.
 *
 * Download part slots given back are all kept, up to what the budget can
 * lend at once: every lent slot holds a share and every spare one counts in
 * the budget (dropped when a share needs the room), so the pool never grows
 * past the budget, and a flood of downloads reuses its slots instead of
 * making new ones. With a tenth of the budget kept (as before), each part past it
 * became garbage that the main thread and the worker that filled it (each
 * holds a handle) both had to collect before its memory went back: 24
 * socket downloads of 24 MiB under a 48 MiB budget piled up 150-270 MiB of
 * array buffers and raised the daemon's RSS by 165-280 MiB; with the whole
 * budget kept, by 60-65 MiB (issue 13, test/integration/memory-flood.test.ts).
 * Frame slots never reach a worker: those past a twentieth of the budget are
 * collected by the main thread's scavenges, and keeping more measured no
 * lower peak.
 */
export function budgetedSizes(limitBytes: number, configured: { spoolThresholdBytes: number; partConcurrency: number }): BudgetedSizes {
  return {
    // 4.5x a body at the threshold is ~7% of the budget.
    spoolThresholdBytes: Math.min(configured.spoolThresholdBytes, Math.floor(limitBytes / 64)),
    readAhead: limitBytes >= 128 * MIB ? 2 : 1,
    partConcurrency: Math.max(1, Math.min(configured.partConcurrency, Math.floor(limitBytes / (64 * MIB)))),
    sparePartBytes: limitBytes,
    spareFrameBytes: Math.floor(limitBytes / 20),
  };
}
