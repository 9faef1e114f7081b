// CPU time per call, by process, for benchmarks whose sides share this
// machine's two cores: there a side's throughput follows the total CPU one
// call costs across every process it crosses (the server, the daemon, the
// measuring client), so these figures say where a ratio comes from
// (README: Where a gateway download's time goes). Read from /proc, every
// thread of each process included; the measuring process uses
// process.cpuUsage(), which counts its own threads the same way.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    const answer = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isInteger(answer) && answer > 0 ? answer : 100;
  }
  return ticksPerSecond;
}

/** User plus system CPU time of process `pid` (all its threads) so far, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
}

/** A process to meter: another's pid, or 'self' for the measuring process. */
export type Metered = number | 'self';

function cpuMicros(of: Metered): number {
  if (of !== 'self') return processCpuMicros(of);
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Sums each process's CPU over the rounds it wraps, and the calls they made. */
export class CpuPerCall<Name extends string> {
  readonly #processes: Record<Name, Metered>;
  readonly #spent = new Map<Name, number>();
  #calls = 0;

  constructor(processes: Record<Name, Metered>) {
    this.#processes = processes;
  }

  /** `round`, metered: each process's CPU from its start to its end counts, with its `calls`. */
  wrap(round: () => Promise<void>, calls: number): () => Promise<void> {
    return async () => {
      const names = Object.keys(this.#processes) as Name[];
      const before = names.map((name) => cpuMicros(this.#processes[name]));
      await round();
      names.forEach((name, i) => this.#spent.set(name, (this.#spent.get(name) ?? 0) + cpuMicros(this.#processes[name]) - before[i]!));
      this.#calls += calls;
    };
  }

  /** Microseconds of CPU per call, by process, over every wrapped round so far (whole microseconds). */
  perCall(): Record<Name, number> {
    const out = {} as Record<Name, number>;
    for (const name of Object.keys(this.#processes) as Name[]) out[name] = this.#calls === 0 ? NaN : Math.round((this.#spent.get(name) ?? 0) / this.#calls);
    return out;
  }
}
