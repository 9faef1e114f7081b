import { stat } from 'node:fs/promises';
import type { Piscina } from 'piscina';
import type { FileGrowth, HashFileTask, HashGrowingFileTask } from '../../workers/task-types';
import { newCancelFlag, raiseCancelFlag } from './cancel-flag';
import { metricsOf } from './pool-metrics';
import { runTask } from './task-failure';

export interface HashRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * Hex sha256 of a file (a spooled body) or an inclusive range of it, computed
 * on a pool thread. A fired signal stops the hashing at its next megabyte and
 * rejects with CLOSED.
 */
export async function hashFileIn(pool: Piscina, path: string, range?: HashRange, signal?: AbortSignal): Promise<string> {
  const task: HashFileTask = range === undefined ? { path } : { path, start: range.start, end: range.end };
  let onAbort: (() => void) | undefined;
  if (signal !== undefined) {
    const cancel = newCancelFlag();
    task.cancel = cancel;
    onAbort = () => raiseCancelFlag(cancel);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  try {
    const digest = await runTask(() => pool.run(task, { name: 'hashFile' }) as Promise<string>);
    const metrics = metricsOf(pool);
    metrics.bytesHashed += range === undefined ? (await stat(path)).size : range.end - range.start + 1;
    return digest;
  } finally {
    if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
  }
}

const NOTIFY_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * A body's sha256 taken on a pool thread while the body is spooled: call
 * grew() after each write, complete() after the last (it resolves with the
 * digest), or abandon() to stop the task.
 */
export class GrowingFileHash {
  readonly #pool: Piscina;
  readonly #growth: FileGrowth = new BigInt64Array(new SharedArrayBuffer(16));
  readonly #cancel = newCancelFlag();
  readonly #digest: Promise<string>;
  #notified = 0;

  constructor(pool: Piscina, path: string) {
    this.#pool = pool;
    const task: HashGrowingFileTask = { path, growth: this.#growth, cancel: this.#cancel };
    this.#digest = runTask(() => pool.run(task, { name: 'hashGrowingFile' }) as Promise<string>);
    // Awaited by complete(); an abandoned hash's failure is of no interest.
    this.#digest.catch(() => undefined);
  }

  grew(bytes: number): void {
    Atomics.store(this.#growth, 0, BigInt(bytes));
    // Waking the task costs the main thread a cross-thread post: ~2.8% of its
    // time under four large stores when done per 256 KiB write, still ~1.5%
    // once a megabyte (--cpu-prof). Every 4 MiB the task still stays within a
    // few reads of the spool, and complete() wakes it for the rest.
    if (bytes - this.#notified >= NOTIFY_EVERY_BYTES) {
      this.#notified = bytes;
      Atomics.notify(this.#growth, 0);
    }
  }

  async complete(bytes: number): Promise<string> {
    Atomics.store(this.#growth, 0, BigInt(bytes));
    Atomics.store(this.#growth, 1, 1n);
    Atomics.notify(this.#growth, 0);
    const digest = await this.#digest;
    metricsOf(this.#pool).bytesHashed += bytes;
    return digest;
  }

  abandon(): void {
    raiseCancelFlag(this.#cancel);
    Atomics.notify(this.#growth, 0);
  }
}
