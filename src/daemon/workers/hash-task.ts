import { stat } from 'node:fs/promises';
import type { Piscina } from 'piscina';
import type { HashFileTask } from '../../workers/task-types';
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

