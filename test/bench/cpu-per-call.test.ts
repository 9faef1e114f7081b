// The benchmarks' CPU meter reads /proc/<pid>/stat: it must agree with what
// the metered process itself counts, or the per-download figures printed
// beside gateway.download.200k.c16 would explain the ratio with wrong numbers.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { CpuPerCall, processCpuMicros } from '../../bench/cpu-per-call';

/** A process that burns `ms` of CPU, prints what it counted itself, and waits for stdin to close. */
function burner(ms: number) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const until = ${ms * 1000}; let u; do { u = process.cpuUsage(); } while (u.user + u.system < until);
       process.stdout.write(String(u.user + u.system) + '\\n'); process.stdin.resume();`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const counted = once(child.stdout!, 'data').then(([d]) => Number(String(d).trim()));
  return { child, counted };
}

test('processCpuMicros reads what a process counts of its own CPU, within a clock tick or two', async (t) => {
  const { child, counted } = burner(300);
  t.after(() => child.kill());
  const own = await counted;
  const read = processCpuMicros(child.pid!);
  // /proc counts whole clock ticks (10 ms at 100 Hz) and includes the start-up before the child's first count.
  assert.ok(read >= own - 20_000, `read ${read} µs, the process counted ${own} µs`);
  assert.ok(read <= own + 150_000, `read ${read} µs, the process counted ${own} µs`);
  child.stdin!.end();
  await once(child, 'exit');
});

test('CpuPerCall divides each process\'s CPU over the wrapped rounds by their calls', async () => {
  const meter = new CpuPerCall({ self: 'self' });
  assert.ok(Number.isNaN(meter.perCall().self), 'no calls yet: no figure');
  const spin = (ms: number) => async () => {
    const start = process.cpuUsage();
    for (;;) {
      const u = process.cpuUsage(start);
      if (u.user + u.system >= ms * 1000) return;
    }
  };
  await meter.wrap(spin(40), 4)();
  await meter.wrap(spin(40), 4)();
  // 80 ms over 8 calls: at least 10 ms a call (the rounds count a little of their own bookkeeping too).
  const perCall = meter.perCall().self;
  assert.ok(perCall >= 10_000 && perCall < 20_000, `${perCall} µs per call`);
});
