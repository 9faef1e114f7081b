// Recently read committed photos, so a hot getPhoto skips SQLite (a read
// transaction per lookup was a fifth of the daemon's time per call). Coherent
// because this process's writer is the only writer: every write op that
// touches a photo evicts it in the same synchronous turn that commits it, so
// no read can see the old entry after the write.
//
// Eviction is second-chance (CLOCK) rather than strict LRU: a hit only sets a
// flag. Moving the entry to the back of the Map on every hit, as before, made
// the Map rehash into a new table every thousand or so hits; those tables and
// the call's id strings kept as keys outlived young-generation collections
// and were most of what the daemon promoted under getPhoto load.
//
// Bounded in bytes as well as in entries (issue 13, item 5): each entry is
// charged the heap its photo may take once parsed (photo-bytes.ts), since a
// photo with 64 KiB of processing metadata may take over a megabyte. One
// photo dearer than a 256th of the budget is not kept at all: it is read
// and parsed afresh on each call, and its memory goes as soon as the answer
// is sent, instead of pushing a few hundred ordinary photos out.

import type { Photo } from '../../protocol/types';

/** What the daemon's cache may hold by default: 10,000 ordinary photos take about a third of it. */
export const DEFAULT_PHOTO_CACHE_BYTES = 32 * 1024 * 1024;
const LARGEST_ENTRY_SHARE = 256;

interface Entry {
  photo: Photo;
  bytes: number;
  /** Read since it last came up for eviction. */
  recent: boolean;
}

export class PhotoCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  /** At most `capacity` photos and `maxBytes` of them, as charged by set(). */
  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number = DEFAULT_PHOTO_CACHE_BYTES,
  ) {}

  get(id: string): Photo | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    entry.recent = true;
    return entry.photo;
  }

  /** Keeps `photo`, charged `bytes` (photo-bytes.ts heapBytes); one too dear to share the budget is left out. */
  set(photo: Photo, bytes = 0): void {
    this.evict(photo.id);
    if (this.capacity === 0 || bytes * LARGEST_ENTRY_SHARE > this.maxBytes) return;
    // Counted as read: it is being read right now, and a newcomer must not be the first to go.
    this.#entries.set(photo.id, { photo: Object.freeze(photo), bytes, recent: true });
    this.#bytes += bytes;
    while (this.#entries.size > this.capacity || this.#bytes > this.maxBytes) this.#evictOne();
  }

  evict(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What the entries are charged, in all. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Removes the oldest entry not read since its last chance; read ones go to the back, unflagged. */
  #evictOne(): void {
    // Entries moved to the back are met again later in this same loop, so it ends within size + 1 steps.
    for (const [id, entry] of this.#entries) {
      this.#entries.delete(id);
      if (!entry.recent) {
        this.#bytes -= entry.bytes;
        return;
      }
      entry.recent = false;
      this.#entries.set(id, entry);
    }
  }
}
