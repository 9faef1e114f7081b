// Call latencies of measured rounds only. tinybench leaves its warm-up rounds
// out of the rate it reports; the latency figures leave them out too, so a
// p99 describes the same rounds as the calls/s beside it (warm-up rounds pay
// for JIT compilation and the first caches, and dominated the tail).

export type BenchPhase = 'warmup' | 'run';

export class LatencyRecorder {
  readonly values: number[] = [];
  #recording = false;

  /** tinybench's beforeAll hook: called as each phase of a task starts. */
  readonly phase = (phase: BenchPhase): void => {
    this.#recording = phase === 'run';
  };

  push(ms: number): void {
    if (this.#recording) this.values.push(ms);
  }
}
