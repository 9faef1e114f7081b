// The daemon's one Piscina pool: work that would block the event loop runs on
// its threads. Tasks live in src/workers/ and are picked by name.

import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';

export const WORKER_TASKS_FILE = path.resolve(__dirname, '../../workers/tasks.js');

export function createWorkerPool(maxThreads = Math.max(1, os.availableParallelism())): Piscina {
  return new Piscina({
    filename: WORKER_TASKS_FILE,
    minThreads: 1,
    maxThreads,
    // Idle threads beyond the first go away; the checkpoint task keeps one warm.
    idleTimeout: 30_000,
  });
}
