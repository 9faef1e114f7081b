// Runs in a Piscina worker thread: the sha256 of a spooled body, or of an
// inclusive byte range of it, so that the daemon's event loop never hashes a
// large body itself. Synchronous reads: the thread has nothing else to do
// meanwhile, and readSync over the page cache beats a round trip through
// libuv's pool per megabyte.

import * as fs from 'node:fs';
import { asTaskFailure } from './failures';
import { hashRange, openRange } from './file-range';
import type { HashFileTask } from './task-types';

export function hashFile(task: HashFileTask): string {
  try {
    const range = openRange(task.path, task.start, task.end);
    try {
      return hashRange(range, task.cancel);
    } finally {
      fs.closeSync(range.fd);
    }
  } catch (err) {
    throw asTaskFailure(err, `hash ${task.path}`);
  }
}
