// sidecar.getPhoto.underLoad: getPhoto calls on their own connection while 4
// stores of 64 MiB run, with the daemon's event-loop delay as the daemon
// reports it. The stores come from another client process (store-loader.ts),
// as they would from another application on the host. The `.sameProcess`
// figure runs them in the measuring process instead: its calls then also wait
// for that process's own event loop and GC, which moving 256 MiB at a time
// through one client keeps busy.

import { NO_CACHE } from './no-cache';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { jpegBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { writeBody } from './large-store.bench';
import { keepStoring, type LargeStores } from './large-store-loop';
import { note, percentile, report } from './report';

const MIB = 1024 * 1024;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const LARGE_STORES = 4;
const READERS_IN_FLIGHT = 8;
const WINDOW_MS = 10_000;

async function scrapeLoopP99(httpUrl: string): Promise<number> {
  const res = await request(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith('storaged_eventloop_delay_p99_ms '));
  if (res.statusCode !== 200 || line === undefined) throw new Error(`no event-loop figure in /metrics (${res.statusCode})`);
  return Number(line.split(' ')[1]);
}

function loadInChild(socketPath: string, file: string): Promise<LargeStores> {
  // The daemon has tokens (for /metrics), so its socket wants one in every hello: the loader's comes in its environment.
  const child: ChildProcess = fork(path.join(__dirname, 'store-loader.js'), [socketPath, file, String(LARGE_STORES)], {
    stdio: 'inherit',
    env: { ...process.env, STORAGED_TOKEN: ADMIN_TOKEN },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stored = -1;
  child.on('message', (m: { stored?: number }) => {
    if (typeof m.stored === 'number') stored = m.stored;
  });
  return new Promise((resolve, reject) => {
    child.once('message', () =>
      resolve({
        async stop() {
          child.send('stop');
          await exited;
          if (stored < 0) throw new Error('the store loader exited without a count');
          return stored;
        },
      }),
    );
    child.once('exit', (code) => reject(new Error(`the store loader exited with ${code}`)));
  });
}

async function measure(name: string, sameProcess: boolean, file: string): Promise<void> {
  const env = await startBenchEnv({ STORAGED_MAX_BODY_BYTES: String(128 * MIB), STORAGED_TOKENS: `${ADMIN_TOKEN} bench admin` });
  // Tokens configured means socket auth by token (STORAGED_SOCKET_AUTH): every client says who it is with one.
  const readers = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', token: ADMIN_TOKEN, cacheConfig: NO_CACHE });
  const loaders = sameProcess
    ? new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', token: ADMIN_TOKEN, callTimeoutMs: 600_000, cacheConfig: NO_CACHE })
    : null;
  try {
    const ids: string[] = [];
    for (let i = 0; i < 64; i++) ids.push((await readers.storePhoto(jpegBytes(20_000), { originalName: `s${i}.jpg`, clientId: 'bench' })).id);
    note(
      `${name}: getPhoto (${READERS_IN_FLIGHT} in flight) on one connection while ${LARGE_STORES} stores of 64 MiB run ` +
        (sameProcess ? 'on another connection of the same process' : 'from another client process'),
    );
    const load = loaders === null ? await loadInChild(env.daemon.socketPath, file) : keepStoring(loaders, file, LARGE_STORES);
    // Let the transfers get going, then start the window the event-loop figure covers.
    await new Promise((r) => setTimeout(r, 1000));
    await scrapeLoopP99(env.daemon.httpUrl!);
    const latencies: number[] = [];
    const until = performance.now() + WINDOW_MS;
    let calls = 0;
    const reader = async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await readers.getPhoto(ids[calls++ % ids.length]!);
        latencies.push(performance.now() - started);
      }
    };
    const began = performance.now();
    await Promise.all(Array.from({ length: READERS_IN_FLIGHT }, reader));
    const seconds = (performance.now() - began) / 1000;
    const loopP99 = await scrapeLoopP99(env.daemon.httpUrl!);
    const stored = await load.stop();
    report({
      bench: name,
      value: latencies.length / seconds,
      unit: 'ops/s',
      p99_ms: percentile(latencies, 99),
      eventloop_p99_ms: loopP99,
      large_stores_completed: stored,
      baseline: 'none',
      baseline_value: null,
    });
  } finally {
    await loaders?.close();
    await readers.close();
    await env.close();
  }
}

export async function benchGetUnderLoad(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-load-'));
  const file = path.join(dir, 'body.jpg');
  writeBody(file, 64 * MIB);
  try {
    await measure('sidecar.getPhoto.underLoad', false, file);
    await measure('sidecar.getPhoto.underLoad.sameProcess', true, file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
