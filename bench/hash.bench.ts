// hash.worker1 / hash.worker2: sha256 of 256 MB on the daemon's worker pool
// (one thread, two threads) against crypto.createHash on the main thread over
// the same 256 MB file, alternated over several pairs in this run.
//
// The baseline reads the file the way the worker does (readSync into one
// reused 1 MiB buffer), so the ratio is the price of going through the pool,
// not of a different way of reading. The file is written first, so both sides
// read from the page cache.
//
// hash.worker2 hashes the two halves as two ranges in parallel. A single
// digest of one body cannot be split (SHA-256 is sequential), so this is the
// pool's throughput when two hashes run at once — two concurrent stores, or
// the per-part digests of one multipart upload — which is what a second
// thread buys; one body's digest still takes one thread.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashFileIn } from '../src/daemon/workers/hash-task';
import { createWorkerPool } from '../src/daemon/workers/worker-pool';
import { interleaved } from './interleaved';
import { note, report } from './report';

const MB = 1024 * 1024;
const SIZE = 256 * MB;
const PAIRS = 3;
// A round (256 MB) takes a few hundred ms: a handful of rounds a measurement.
const TIMING = { timeMs: 1500, warmupMs: 300, iterations: 3 };

function writeFile(dir: string): string {
  const file = path.join(dir, 'body.bin');
  const fd = fs.openSync(file, 'w', 0o600);
  const chunk = Buffer.alloc(MB);
  try {
    for (let i = 0; i < SIZE / MB; i++) {
      // Varied bytes, not zeros: a hash's speed does not depend on them, but a file system might.
      chunk.fill(i & 0xff);
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

function hashOnMainThread(file: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(MB);
  const fd = fs.openSync(file, 'r');
  try {
    for (let pos = 0; ; ) {
      const got = fs.readSync(fd, buffer, 0, MB, pos);
      if (got === 0) break;
      hash.update(got === MB ? buffer : buffer.subarray(0, got));
      pos += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export async function benchHash(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-hash-'));
  const one = createWorkerPool(1);
  const two = createWorkerPool(2);
  try {
    const file = writeFile(dir);
    const expected = hashOnMainThread(file);
    if ((await hashFileIn(one, file)) !== expected) throw new Error('the pool and the main thread disagree on the digest');
    const baseline = { name: 'main.createHash', callsPerRound: SIZE / MB, round: async () => void hashOnMainThread(file) };
    const half = SIZE / 2;

    note(`hash.worker1: 256 MB on a 1-thread pool vs createHash on the main thread, ${PAIRS} alternating pairs`);
    const r1 = await interleaved(PAIRS, baseline, { name: 'hash.worker1', callsPerRound: SIZE / MB, round: async () => void (await hashFileIn(one, file)) }, TIMING);
    report({ bench: 'hash.worker1', value: r1.subject, unit: 'MB/s', runs: r1.subjectRuns.map(Math.round), baseline: 'main.createHash', baseline_value: r1.baseline, baseline_runs: r1.baselineRuns.map(Math.round) });

    note(`hash.worker2: 256 MB as two 128 MB ranges on a 2-thread pool vs createHash on the main thread, ${PAIRS} alternating pairs`);
    const r2 = await interleaved(
      PAIRS,
      baseline,
      {
        name: 'hash.worker2',
        callsPerRound: SIZE / MB,
        round: async () => {
          await Promise.all([hashFileIn(two, file, { start: 0, end: half - 1 }), hashFileIn(two, file, { start: half, end: SIZE - 1 })]);
        },
      },
      TIMING,
    );
    report({ bench: 'hash.worker2', value: r2.subject, unit: 'MB/s', runs: r2.subjectRuns.map(Math.round), baseline: 'main.createHash', baseline_value: r2.baseline, baseline_runs: r2.baselineRuns.map(Math.round) });
  } finally {
    await Promise.all([one.close(), two.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
