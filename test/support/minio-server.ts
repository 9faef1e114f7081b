// A real MinIO server on a free loopback port with a temporary data directory,
// for one test file or benchmark. Nothing fake: tests talk S3 to it.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import * as Minio from 'minio';
import { freePort } from './free-port';
import { findOrBuildMinio } from './minio-binary';

export interface MinioHandle {
  endPoint: '127.0.0.1';
  port: number;
  accessKey: string;
  secretKey: string;
  useSSL: false;
  dataDir: string;
  client: Minio.Client;
  /** The server's process id while it runs (benchmarks meter its CPU), null while stopped. */
  readonly pid: number | null;
  /** Stops the server; the data directory stays so that restart() finds the same objects. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its data directory (done for you when startMinio was given a TestContext). */
  dispose(): Promise<void>;
}

const LIVE_TIMEOUT_MS = 30_000;
const OUTPUT_TAIL_CHARS = 2000;

// A test that fails or a runner that exits early must not leave servers or
// their data behind: 'exit' handlers run synchronously, so SIGKILL and rmSync.
const running = new Set<ChildProcess>();
const dataDirs = new Set<string>();
function killAll(): void {
  for (const proc of running) proc.kill('SIGKILL');
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', killAll);
// A signal ends the process without 'exit' (the test runner cancelling a file, Ctrl-C).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    // Die of the same signal as we would have, unless someone else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

async function waitLive(port: number, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`minio exited (${proc.signalCode ?? proc.exitCode}) before it was live:\n${output().slice(-OUTPUT_TAIL_CHARS)}`);
    }
    try {
      // Ready, not only live: a live MinIO may still answer 503 to bucket calls while it initialises (seen under load).
      const res = await fetch(`http://127.0.0.1:${port}/minio/health/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`minio did not become live on 127.0.0.1:${port} within ${LIVE_TIMEOUT_MS / 1000} s:\n${output().slice(-OUTPUT_TAIL_CHARS)}`);
}

/**
 * Resolves once MinIO serves S3 calls. /minio/health/ready can answer 200 a
 * moment before its object layer is up: the first store after a restart then
 * failed with XMinioServerNotInitialized (minio-outage.test, 2026-12-04,
 * under load). A bucket listing goes through the object layer.
 */
async function waitServing(client: Minio.Client, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`minio exited (${proc.signalCode ?? proc.exitCode}) before it served requests:\n${output().slice(-OUTPUT_TAIL_CHARS)}`);
    }
    try {
      await client.listBuckets();
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`minio was ready but did not serve a bucket listing within ${LIVE_TIMEOUT_MS / 1000} s`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `env` adds to MinIO's environment (MINIO_DOMAIN for virtual-hosted-style requests, say). */
export async function startMinio(t?: TestContext, options: { env?: Record<string, string> } = {}): Promise<MinioHandle> {
  // freePort's port is free when asked, not when MinIO binds it: a test file running beside this one (or
  // another suite on the machine) may take it in between. Only that failure is worth other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMinioOnce(t, options);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/already in use/i.test((err as Error).message)) throw err;
    }
  }
}

/** Tries of startMinio on new ports when the ones it picked were taken before MinIO bound them. */
const PORT_ATTEMPTS = 3;

async function startMinioOnce(t: TestContext | undefined, options: { env?: Record<string, string> }): Promise<MinioHandle> {
  const bin = await findOrBuildMinio();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-minio-'));
  dataDirs.add(dataDir);
  const port = await freePort();
  const consolePort = await freePort();
  const accessKey = `test${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(18).toString('hex');
  let proc: ChildProcess | null = null;
  let output = '';
  const client = new Minio.Client({ endPoint: '127.0.0.1', port, useSSL: false, accessKey, secretKey, region: 'us-east-1' });

  const launch = async () => {
    output = '';
    const child = spawn(
      bin,
      ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
      {
        env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Keep only a bounded tail: a long benchmark must not grow this forever.
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-OUTPUT_TAIL_CHARS * 2);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    running.add(child);
    child.once('exit', () => running.delete(child));
    proc = child;
    try {
      await waitLive(port, child, () => output);
      await waitServing(client, child, () => output);
    } catch (err) {
      await stop();
      throw err;
    }
  };

  const stop = async () => {
    const child = proc;
    proc = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const dispose = async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
  };

  try {
    await launch();
  } catch (err) {
    await dispose();
    throw err;
  }
  t?.after(dispose);
  return {
    endPoint: '127.0.0.1',
    port,
    accessKey,
    secretKey,
    useSSL: false,
    dataDir,
    get pid() {
      const child: ChildProcess | null = proc;
      return child === null ? null : (child.pid ?? null);
    },
    client,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    dispose,
  };
}
