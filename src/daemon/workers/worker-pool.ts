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

export function createWorkerPool(maxThreads = Math.max(1, os.availableParallelism())): Piscina {
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
  });
}
