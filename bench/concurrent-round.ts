// Runs `total` calls with at most `inFlight` outstanding and records each
// call's latency; a tinybench task runs one such round per iteration.

export async function concurrentRound(
  total: number,
  inFlight: number,
  call: (i: number) => Promise<unknown>,
  latencies?: { push(ms: number): unknown },
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      await call(i);
      latencies?.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
}
