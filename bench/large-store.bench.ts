// store.256m: storing a 256 MB file through the sidecar (streamed from disk)
// against the minio client's fPutObject of the same file to the same MinIO,
// alternated in this run.
// sidecar.getPhoto.underLoad: getPhoto calls on their own connection while 4
// large stores run, with the daemon's event-loop delay as the daemon reports it.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { jpegBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { interleaved } from './interleaved';
import { note, percentile, report } from './report';

const MIB = 1024 * 1024;
const PAIRS = 3;

/** A file of `bytes` JPEG-looking bytes, written in 16 MiB pieces. */
function writeBody(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    for (let written = 0; written < bytes; ) {
      const piece = jpegBytes(Math.min(16 * MIB, bytes - written));
      fs.writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export async function benchStore256m(): Promise<void> {
  const size = 256 * MIB;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-256m-'));
  const file = path.join(dir, 'body.jpg');
  writeBody(file, size);
  const env = await startBenchEnv({ STORAGED_MAX_BODY_BYTES: String(512 * MIB) });
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', callTimeoutMs: 600_000 });
  try {
    await env.minio.client.makeBucket('baseline');
    note(`store.256m: storePhoto of a 256 MiB file through the sidecar vs minio fPutObject, ${PAIRS} alternating pairs`);
    let n = 0;
    const timing = { timeMs: 0, warmupMs: 0, iterations: 1 };
    const result = await interleaved(
      PAIRS,
      {
        name: 'minio.fPutObject',
        callsPerRound: 1,
        round: async () => {
          await env.minio.client.fPutObject('baseline', `b/${n++}.jpg`, file, { 'Content-Type': 'image/jpeg' });
        },
      },
      {
        name: 'store.256m',
        callsPerRound: 1,
        round: async () => {
          await client.storePhoto(fs.createReadStream(file), { originalName: 'big.jpg', clientId: 'bench', contentType: 'image/jpeg' });
        },
      },
      timing,
    );
    const mibPerCall = size / MIB;
    report({
      bench: 'store.256m',
      value: result.subject * mibPerCall,
      unit: 'MiB/s',
      runs: result.subjectRuns.map((r) => Math.round(r * mibPerCall)),
      baseline: 'minio.fPutObject',
      baseline_value: result.baseline * mibPerCall,
      baseline_runs: result.baselineRuns.map((r) => Math.round(r * mibPerCall)),
    });
  } finally {
    await client.close();
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

async function scrapeLoopP99(httpUrl: string): Promise<number> {
  const res = await request(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith('storaged_eventloop_delay_p99_ms '));
  if (res.statusCode !== 200 || line === undefined) throw new Error(`no event-loop figure in /metrics (${res.statusCode})`);
  return Number(line.split(' ')[1]);
}

export async function benchGetUnderLoad(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-load-'));
  const file = path.join(dir, 'body.jpg');
  writeBody(file, 64 * MIB);
  const env = await startBenchEnv({ STORAGED_MAX_BODY_BYTES: String(128 * MIB), STORAGED_TOKENS: `${ADMIN_TOKEN} bench admin` });
  const loaders = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', callTimeoutMs: 600_000 });
  const readers = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 64; i++) ids.push((await readers.storePhoto(jpegBytes(20_000), { originalName: `s${i}.jpg`, clientId: 'bench' })).id);
    note('sidecar.getPhoto.underLoad: getPhoto (8 in flight) on one connection while 4 stores of 64 MiB run on another');
    let loading = true;
    let stored = 0;
    const loader = async () => {
      while (loading) {
        await loaders.storePhoto(fs.createReadStream(file), { originalName: 'load.jpg', clientId: 'bench', contentType: 'image/jpeg' });
        stored++;
      }
    };
    const load = Promise.all([loader(), loader(), loader(), loader()]);
    // Let the four transfers get going, then start the window the event-loop figure covers.
    await new Promise((r) => setTimeout(r, 1000));
    await scrapeLoopP99(env.daemon.httpUrl!);
    const latencies: number[] = [];
    const until = performance.now() + 10_000;
    let calls = 0;
    const reader = async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await readers.getPhoto(ids[calls++ % ids.length]!);
        latencies.push(performance.now() - started);
      }
    };
    const began = performance.now();
    await Promise.all(Array.from({ length: 8 }, reader));
    const seconds = (performance.now() - began) / 1000;
    const loopP99 = await scrapeLoopP99(env.daemon.httpUrl!);
    loading = false;
    await load;
    report({
      bench: 'sidecar.getPhoto.underLoad',
      value: latencies.length / seconds,
      unit: 'ops/s',
      p99_ms: percentile(latencies, 99),
      eventloop_p99_ms: loopP99,
      large_stores_completed: stored,
      baseline: 'none',
      baseline_value: null,
    });
  } finally {
    await loaders.close();
    await readers.close();
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
