// The daemon's peak resident memory over a stretch of a benchmark, as the
// kernel counts it: VmHWM in /proc/<pid>/status covers every thread (the
// worker pool included) and every moment, where sampling VmRSS could miss a
// short spike. Writing 5 to /proc/<pid>/clear_refs resets the mark, so the
// peak describes the measured load alone, not the setup before it.

import * as fs from 'node:fs';

const MIB = 1024 * 1024;

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`no ${field} for process ${pid}`);
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

export interface PeakWindow {
  /** The resident set when the window opened (the idle baseline). */
  readonly idleBytes: number;
  /** The highest resident set since the window opened. */
  peakBytes(): number;
}

/** Opens a window over `pid`'s resident memory: from now, the peak is this load's. */
export function openPeakWindow(pid: number): PeakWindow {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Without the reset (another user's process, an old kernel) the peak covers the process's whole life: an over-estimate, never an under-estimate.
  }
  const idleBytes = statusField(pid, 'VmRSS');
  return { idleBytes, peakBytes: () => statusField(pid, 'VmHWM') };
}

export const mib = (bytes: number) => Number((bytes / MIB).toFixed(1));
