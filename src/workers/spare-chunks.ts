// The thread's spare upload chunks. A 1 MiB Buffer per chunk read would be
// garbage by the hundreds per body: V8 frees an isolate's young ArrayBuffers
// only once ~32 MiB of them have piled up, and glibc keeps much of what is
// freed, so each worker's resident memory grew by ~30 MiB during a 300 MB
// store. Chunks the socket has let go of come back here instead.

export const CHUNK_BYTES = 1024 * 1024;

/**
 * Spares kept per thread: enough for the parts a thread runs at once
 * (TASKS_PER_THREAD in src/daemon/workers/worker-pool.ts) to find a chunk
 * without allocating; more would only sit idle between stores.
 */
const MAX_SPARES = 8;

const spares: Buffer[] = [];

/** A CHUNK_BYTES buffer, reused when one is spare; its contents are stale. */
export function takeChunk(): Buffer {
  return spares.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
}

/** Chunks that nothing references any more. Pass only whole CHUNK_BYTES buffers. */
export function returnChunks(chunks: Buffer[]): void {
  for (const chunk of chunks) {
    if (spares.length >= MAX_SPARES) return;
    spares.push(chunk);
  }
}

/** Spares held now (tests check that chunks come back). */
export function spareChunkCount(): number {
  return spares.length;
}
