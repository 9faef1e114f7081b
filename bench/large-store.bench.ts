// store.256m: storing a 256 MB file through the sidecar (streamed from disk)
// against the minio client's fPutObject of the same file to the same MinIO,
// alternated in this run.

import { NO_CACHE } from './no-cache';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageClient } from '../src/sidecar-client/storage-client';
import { jpegBytes } from '../test/support/image-bytes';
import { startBenchEnv } from './bench-env';
import { interleaved } from './interleaved';
import { note, report } from './report';

const MIB = 1024 * 1024;
const PAIRS = 3;

/** A file of `bytes` JPEG-looking bytes, written in 16 MiB pieces. */
export function writeBody(file: string, bytes: number): void {
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
  const client = new StorageClient({ socketPath: env.daemon.socketPath, clientId: 'bench', callTimeoutMs: 600_000, cacheConfig: NO_CACHE });
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
