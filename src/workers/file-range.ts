// Byte ranges of a file on local disk (a spooled body), read in 1 MiB steps:
// hashing reuses one buffer per thread, so hashing a 5 GB body allocates
// nothing per chunk. The upload body is range-reader.ts.

import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { failure, throwIfCancelled } from './failures';
import { CHUNK_BYTES } from './spare-chunks';
import type { CancelFlag } from './task-types';

let scratch: Buffer | null = null;

export interface OpenRange {
  fd: number;
  start: number;
  /** Inclusive; start - 1 for an empty file read whole. */
  end: number;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Opens `path` and checks that it holds bytes start..end (end defaults to the
 * last byte). A file shorter than the range is refused: the caller's size and
 * the file disagree, and sending what is there would store a truncated object.
 */
export function openRange(path: string, start: number | undefined, end: number | undefined): OpenRange {
  const first = start ?? 0;
  if (!isOffset(first)) throw failure('invalid', `range start must be a non-negative integer, got ${String(start)}`);
  if (end !== undefined && (!isOffset(end) || end < first)) {
    throw failure('invalid', `range end must be an integer ≥ start (${first}), got ${String(end)}`);
  }
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw failure('invalid', `cannot open ${path}: ${code ?? String(err)}`, code);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const last = end ?? size - 1;
    if (end === undefined && first > 0 && first >= size) {
      throw failure('invalid', `range start ${first} is past the end of ${path} (${size} bytes)`);
    }
    if (last >= size) throw failure('invalid', `${path} holds ${size} bytes; bytes ${first}-${last} were asked for`);
    return { fd, start: first, end: last };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Hex sha256 of bytes start..end of an open file; checks `cancel` between chunks. */
export function hashRange(range: OpenRange, cancel?: CancelFlag): string {
  scratch ??= Buffer.allocUnsafe(CHUNK_BYTES);
  const hash = createHash('sha256');
  let pos = range.start;
  while (pos <= range.end) {
    throwIfCancelled(cancel);
    const want = Math.min(CHUNK_BYTES, range.end - pos + 1);
    const got = fs.readSync(range.fd, scratch, 0, want, pos);
    if (got === 0) throw failure('invalid', `the file ended at byte ${pos}, before the range's end ${range.end}`);
    hash.update(got === CHUNK_BYTES ? scratch : scratch.subarray(0, got));
    pos += got;
  }
  return hash.digest('hex');
}
