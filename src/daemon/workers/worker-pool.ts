// The daemon's one Piscina pool: work that would block the event loop runs on
// its threads. Tasks live in src/workers/ and are picked by name.

import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';

export const WORKER_TASKS_FILE = path.resolve(__dirname, '../../workers/tasks.js');

/**
 * Tasks one thread runs at once. A part transfer spends most of its time
 * waiting on the network, so a thread takes several; Piscina's balancer still
 * gives a task to an idle thread first, so CPU-bound hashing spreads out.
 */
const TASKS_PER_THREAD = 4;

/**
 * A task allocates few JavaScript objects (bytes live in Buffers, outside the
 * heap), so a small young generation costs a few more quick scavenges. V8's
 * default let each thread's heap grow from ~20 to ~31 MiB during a 300 MB
 * store; with 4 MiB it stays at ~19 MiB.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * The threads' nice value (Linux keeps one per thread; the main thread stays
 * at the process's). Bulk work — hashing, part transfers — then yields the
 * core to the event loop whenever both want one, as they do on a small host
 * where MinIO and the clients share the cores too. Four large stores arriving
 * while getPhoto is measured on another connection (bench
 * sidecar.getPhoto.underLoad, 2 cores, runs interleaved): p99 3.0-4.6 ms and
 * 25k-32k calls/s at nice 10, 4.5-6.1 ms and 18k-23k calls/s at nice 0, with
 * as many large stores done in the same time; store.256m alone is unchanged
 * (ratio 0.95-1.06 against 0.96-1.00).
 */
export const DEFAULT_WORKER_NICE = 10;

/** What each worker thread reads from Piscina's workerData (src/workers/thread-priority.ts). */
export interface WorkerSettings {
  nice: number;
}

export function createWorkerPool(maxThreads = Math.max(1, os.availableParallelism()), nice = DEFAULT_WORKER_NICE): Piscina {
  const settings: WorkerSettings = { nice };
  return new Piscina({
    filename: WORKER_TASKS_FILE,
    // Every thread from the start: with several tasks per thread, Piscina would
    // rather stack a second task on a busy thread than start a new one, and two
    // hashes would then share one core.
    minThreads: maxThreads,
    maxThreads,
    concurrentTasksPerWorker: TASKS_PER_THREAD,
    idleTimeout: 30_000,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    workerData: settings,
  });
}
