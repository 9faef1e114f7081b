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

import type { Photo } from '../../protocol/types';

interface Entry {
  photo: Photo;
  /** Read since it last came up for eviction. */
  recent: boolean;
}

export class PhotoCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  get(id: string): Photo | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    entry.recent = true;
    return entry.photo;
  }

  set(photo: Photo): void {
    if (this.capacity === 0) return;
    this.#entries.delete(photo.id);
    // Counted as read: it is being read right now, and a newcomer must not be the first to go.
    this.#entries.set(photo.id, { photo: Object.freeze(photo), recent: true });
    if (this.#entries.size > this.capacity) this.#evictOne();
  }

  evict(id: string): void {
    this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Removes the oldest entry not read since its last chance; read ones go to the back, unflagged. */
  #evictOne(): void {
    // Entries moved to the back are met again later in this same loop, so it ends within size + 1 steps.
    for (const [id, entry] of this.#entries) {
      this.#entries.delete(id);
      if (!entry.recent) return;
      entry.recent = false;
      this.#entries.set(id, entry);
    }
  }
}
