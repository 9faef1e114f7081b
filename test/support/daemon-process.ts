// The compiled `storaged` binary in its own process, for tests that kill it,
// restart it or read what it prints.

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

export const DAEMON_BIN = path.resolve(__dirname, '../../src/daemon/bin.js');

/** The daemon's output kept for stdout()/stderr(): far more than any test prints, bounded for benchmarks. */
const KEPT_OUTPUT_CHARS = 1 << 20;

export interface DaemonProcess {
  proc: ChildProcess;
  socketPath: string;
  httpUrl: string | null;
  stdout: () => string;
  stderr: () => string;
  /** Sends the signal and waits for the exit; resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** With `t`, the process is killed when the test ends; without (benchmarks), the caller stops it. */
export async function spawnDaemon(t: TestContext | null, env: Record<string, string>, readyTimeoutMs = 30_000): Promise<DaemonProcess> {
  // STORAGED_TEST_NODE_ARGS lets a profiling run pass flags such as --cpu-prof, which NODE_OPTIONS refuses.
  const nodeArgs = (process.env.STORAGED_TEST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, DAEMON_BIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  // A benchmark's daemon logs a line per gateway request (tens of MB in a
  // run): keep a bounded tail, as minio-server.ts does, trimmed now and then.
  const tail = (text: string) => (text.length > 2 * KEPT_OUTPUT_CHARS ? text.slice(-KEPT_OUTPUT_CHARS) : text);
  proc.stdout!.on('data', (d) => (out = tail(out + d)));
  proc.stderr!.on('data', (d) => (err = tail(err + d)));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  t?.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  });

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready in ${readyTimeoutMs} ms\n${out}\n${err}`)), readyTimeoutMs);
    const check = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('"storaged ready"')) continue;
        clearTimeout(timer);
        // Re-splitting everything printed so far on every later write would cost a benchmark's client O(n²).
        proc.stdout!.off('data', check);
        resolve(JSON.parse(line));
        return;
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before it was ready\n${out}\n${err}`));
    });
  });

  return {
    proc,
    socketPath: String(ready.socket),
    httpUrl: typeof ready.http === 'string' ? ready.http : null,
    stdout: () => out,
    stderr: () => err,
    stop(signal = 'SIGTERM') {
      proc.kill(signal);
      return exited;
    },
  };
}
