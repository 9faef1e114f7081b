// Runs in a Piscina worker thread: the sha256 of a spooled body while it is
// still being written, so the digest is ready when the last byte lands instead
// of a whole pass over the file later. The spooling thread publishes the file's
// length in shared memory (FileGrowth); this task hashes up to it, then waits
// asynchronously (Atomics.waitAsync) for more, leaving the thread free for the
// part uploads that share it. Bytes just written come from the page cache.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { asTaskFailure, failure, throwIfCancelled } from './failures';
import type { HashGrowingFileTask } from './task-types';

const READ_BYTES = 1024 * 1024;
/** Hashing this much in one go is ~4 ms: then the thread's other tasks get a turn. */
const YIELD_EVERY_BYTES = 4 * READ_BYTES;
/** A cancel raised without a notify is noticed within this long. */
const WAIT_MS = 250;

interface WaitAsyncResult {
  async: boolean;
  value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
const waitAsync = (Atomics as unknown as { waitAsync(a: BigInt64Array, i: number, v: bigint, ms: number): WaitAsyncResult }).waitAsync;

export async function hashGrowingFile(task: HashGrowingFileTask): Promise<string> {
  let fd: number | null = null;
  try {
    fd = fs.openSync(task.path, 'r');
    const hash = createHash('sha256');
    // One buffer for the whole body: a worker that allocates per read leaves garbage for its own GC.
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    let position = 0;
    let sinceYield = 0;
    for (;;) {
      throwIfCancelled(task.cancel);
      const available = Number(Atomics.load(task.growth, 0));
      if (position < available) {
        const read = fs.readSync(fd, buffer, 0, Math.min(READ_BYTES, available - position), position);
        if (read === 0) throw failure('invalid', `${task.path} holds fewer than the ${available} bytes announced`);
        hash.update(buffer.subarray(0, read));
        position += read;
        sinceYield += read;
        if (sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await yieldToOthers();
        }
        continue;
      }
      // Complete is set after the last length, so a complete file shows its whole length here.
      if (Atomics.load(task.growth, 1) === 1n && position >= Number(Atomics.load(task.growth, 0))) break;
      const waited = waitAsync(task.growth, 0, BigInt(available), WAIT_MS);
      if (waited.async) await waited.value;
    }
    return hash.digest('hex');
  } catch (err) {
    throw asTaskFailure(err, `hash ${task.path} as it grows`);
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
