// How long a thread was runnable but not running (Linux schedstat): the part
// of a latency figure that is waiting for a core rather than work. On this
// shared 2-core machine the getPhoto tail follows it (README, "the getPhoto
// tail"), so the benchmarks print it beside their p99.

import * as fs from 'node:fs';

interface Sample {
  cpuNs: number;
  waitNs: number;
  at: number;
}

/** The main thread of process `pid`; null where schedstat is not available. */
function read(pid: number): Sample | null {
  try {
    const [cpu, wait] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpuNs: cpu!, waitNs: wait!, at: performance.now() };
  } catch {
    return null;
  }
}

export interface CpuWait {
  /** Milliseconds per second the thread ran, and waited to run, since start(). */
  stop(): { cpu_ms_per_s: number; runqueue_wait_ms_per_s: number } | null;
}

export function watchCpuWait(pid: number): CpuWait {
  const first = read(pid);
  return {
    stop() {
      const last = read(pid);
      if (first === null || last === null) return null;
      const seconds = (last.at - first.at) / 1000;
      return {
        cpu_ms_per_s: Math.round((last.cpuNs - first.cpuNs) / 1e6 / seconds),
        runqueue_wait_ms_per_s: Math.round((last.waitNs - first.waitNs) / 1e6 / seconds),
      };
    },
  };
}

/** The 1-minute load average, to say how busy the machine was. */
export function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
