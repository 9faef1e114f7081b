// Recently read committed photos, so a hot getPhoto skips SQLite (a read
// transaction per lookup was a fifth of the daemon's time per call). Coherent
// because this process's writer is the only writer: every write op that
// touches a photo evicts it in the same synchronous turn that commits it, so
// no read can see the old entry after the write.

import type { Photo } from '../../protocol/types';

export class PhotoCache {
  readonly #entries = new Map<string, Photo>();

  constructor(private readonly capacity: number) {}

  get(id: string): Photo | undefined {
    const photo = this.#entries.get(id);
    if (photo !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.#entries.delete(id);
      this.#entries.set(id, photo);
    }
    return photo;
  }

  set(photo: Photo): void {
    if (this.capacity === 0) return;
    this.#entries.delete(photo.id);
    this.#entries.set(photo.id, Object.freeze(photo));
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  evict(id: string): void {
    this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }
}
