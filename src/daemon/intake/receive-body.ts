// Takes a body off the wire before anything is written anywhere: counts and
// hashes it as it arrives, refuses it the moment it passes the limit, and keeps
// it in memory while small or in a spool file (mode 0600) once it grows past
// the threshold, so memory per upload stays bounded whatever the body size.

import { diskFullAs } from '../disk-full';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClosedError, StorageError } from '../../protocol/errors';
import type { BlobSource } from '../blobs/blob-store';
import { giveFrameBack } from '../memory/upload-frames';
import { isSpoolName, SpoolFile } from './spool-file';

export interface ReceivedBody {
  source: BlobSource;
  size: number;
  sha256: string;
  /** First bytes of the body, for content sniffing. */
  head: Buffer;
  /** Removes the spool file, if any. Safe to call more than once. */
  discard(): Promise<void>;
}

export interface ReceiveOptions {
  /**
   * Throws (TooLargeError) once the bytes received so far pass the body's
   * limit; called as each chunk arrives, before it is kept.
   */
  checkSize: (received: number) => void;
  spoolDir: string;
  spoolThresholdBytes: number;
  headBytes: number;
  signal: AbortSignal;
  /** Called once with the head as soon as it is known; may throw to refuse the body early. */
  onHead?: (head: Buffer) => void;
  /**
   * Hashes a spooled body off the event loop (the worker pool) while it is
   * written. Without it a spooled body is hashed inline as it arrives.
   */
  hashSpool?: (path: string) => SpoolHash;
  /**
   * Called after each write to the spool file with the bytes it now holds, so
   * that the body can start moving on before it has fully arrived.
   */
  onSpoolGrowth?: (path: string, bytes: number) => void;
}

/** A digest taken as the spool file grows (GrowingFileHash on the pool). */
export interface SpoolHash {
  grew(bytes: number): void;
  /** The file is complete at `bytes`; resolves with its hex sha256. */
  complete(bytes: number): Promise<string>;
  abandon(): void;
}

export async function receiveBody(body: AsyncIterable<Uint8Array>, opts: ReceiveOptions): Promise<ReceivedBody> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  let head: Buffer | null = null;
  let spool: SpoolFile | null = null;

  const takeHead = (final: boolean) => {
    if (head !== null) return;
    const buffered = spool === null ? Buffer.concat(chunks) : null;
    if (buffered === null) return;
    if (buffered.length >= opts.headBytes || final) {
      head = buffered.subarray(0, opts.headBytes);
      opts.onHead?.(head);
    }
  };

  let spoolHash: SpoolHash | null = null;
  const written = (path: string, bytes: number, chunks: readonly Uint8Array[]) => {
    // In the file now: the socket's frame memory they came in can take the next chunks.
    for (const chunk of chunks) giveFrameBack(chunk);
    spoolHash?.grew(bytes);
    opts.onSpoolGrowth?.(path, bytes);
  };

  try {
    for await (const piece of body) {
      if (opts.signal.aborted) throw new ClosedError('the caller went away during the upload');
      const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      size += chunk.length;
      opts.checkSize(size);
      // A body held in memory is hashed once it is complete (it may yet be spooled, and a
      // spooled body with hashSpool is hashed from the file by a worker, not here).
      if (spool !== null && spoolHash === null) hash.update(chunk);
      if (spool === null) {
        chunks.push(chunk);
        takeHead(false);
        if (size > opts.spoolThresholdBytes) {
          takeHead(true);
          const file: SpoolFile = new SpoolFile(opts.spoolDir, written);
          spool = file;
          await file.open();
          spoolHash = opts.hashSpool?.(file.path) ?? null;
          for (const held of chunks) {
            if (spoolHash === null) hash.update(held);
            await file.append(held);
          }
          chunks.length = 0;
        }
      } else {
        await spool.append(chunk);
      }
    }
    if (opts.signal.aborted) throw new ClosedError('the caller went away during the upload');
    takeHead(true);
    await spool?.finish();
  } catch (err) {
    // Held in memory only (a spool write in flight may still read the others).
    if (spool === null) for (const held of chunks) giveFrameBack(held);
    spoolHash?.abandon();
    await spool?.discard();
    // A caller that went away breaks its body stream with whatever its transport says
    // (an HTTP request's 'aborted'); what happened is that the caller left.
    if (opts.signal.aborted && !(err instanceof StorageError)) {
      throw new ClosedError('the caller went away during the upload', { cause: err });
    }
    throw diskFullAs(err, `the spool directory ${opts.spoolDir}`);
  }

  const finishedSpool = spool as SpoolFile | null;
  let sha256: string;
  if (spoolHash !== null) {
    try {
      sha256 = await (spoolHash as SpoolHash).complete(size);
    } catch (err) {
      await finishedSpool?.discard();
      throw err;
    }
  } else {
    if (finishedSpool === null) for (const held of chunks) hash.update(held);
    sha256 = hash.digest('hex');
  }
  // A body that arrived as one chunk (up to CHUNK_BYTES) is used as it is: no copy.
  const inMemory = finishedSpool === null ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)) : null;
  if (inMemory !== chunks[0]) for (const held of chunks) giveFrameBack(held);
  // A second give could hand back a slot that has since been lent to another body.
  let discarded = false;
  return {
    source: inMemory !== null ? { buffer: inMemory } : { path: finishedSpool!.path },
    size,
    sha256,
    head: head ?? Buffer.alloc(0),
    discard: async () => {
      if (discarded) return;
      discarded = true;
      await finishedSpool?.discard();
      // The store is over: nothing reads its body any more. A socket frame slot goes back to
      // the pool instead of waiting for a full collection (a dropped slot outlives the young
      // generation: memory.mixed saw up to 244 frames, 61 MiB, held by 200 KB stores that
      // had answered long before).
      if (inMemory !== null) giveFrameBack(inMemory);
    },
  };
}

/**
 * Removes spool files a crashed daemon left behind; returns how many. Only
 * regular files named as SpoolFile names them: anything else in the directory
 * is another program's (spool-file.ts).
 */
export async function clearStaleSpool(spoolDir: string): Promise<number> {
  await fs.promises.mkdir(spoolDir, { recursive: true, mode: 0o700 });
  let removed = 0;
  for (const entry of await fs.promises.readdir(spoolDir, { withFileTypes: true })) {
    if (!entry.isFile() || !isSpoolName(entry.name)) continue;
    await fs.promises.rm(path.join(spoolDir, entry.name), { force: true });
    removed++;
  }
  return removed;
}
