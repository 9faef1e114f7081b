// Runs once in each worker thread, when it loads its tasks: the thread takes
// the nice value the daemon configured (see DEFAULT_WORKER_NICE in
// src/daemon/workers/worker-pool.ts for why and what it measured).

import * as os from 'node:os';
import { workerData } from 'piscina';

/** Gives the calling thread its configured nice value; returns what it runs at. */
export function applyThreadPriority(settings: unknown = workerData): number {
  const nice = (settings as { nice?: unknown } | undefined)?.nice;
  if (typeof nice === 'number' && Number.isInteger(nice) && nice >= 0 && nice <= 19) {
    // Without a pid, Linux sets the calling thread only: the main thread keeps its own.
    // Raising a nice value needs no privilege, so this fails only where priorities are
    // not supported; the thread then simply runs at the process's.
    try {
      os.setPriority(nice);
    } catch {
      // Left at the process's priority.
    }
  }
  return os.getPriority();
}
