// Resident memory of another process (the daemon), read from /proc while a
// measurement runs: the peak a round reached, which a one-off reading after
// the round would miss once the bodies are collected.

import * as fs from 'node:fs';

/** Current resident set of `pid` in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (line === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/** Samples `pid`'s resident set every `everyMs` until stopped; stop() gives the highest seen. */
export function sampleResident(pid: number, everyMs = 5): { stop(): number } {
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, residentBytes(pid));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, residentBytes(pid));
    },
  };
}
