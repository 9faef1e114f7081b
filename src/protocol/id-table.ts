// Calls in flight by id, for both ends of a connection. Not a Map: when V8's
// Map (or Set) outgrows or compacts its hash table, the old table keeps its
// entries and a link to the new one, for iterators still walking it. Once one
// table of a busy Map has been promoted to the old generation, every later
// table and everything they hold (here: each call's resolver, promise and
// decoded answer) is reachable from old space and survives every
// young-generation collection until the next full one. Measured on the
// client under getPhoto load: ~3 MB promoted per scavenge and 3-6 ms pauses
// with a Map, ~0 bytes and ~0.4 ms with this table.
//
// Open addressing with linear probing and backward-shift deletion over two
// plain arrays; a resize builds new arrays and drops the old ones whole.

const MIN_CAPACITY = 16;

export class IdTable<T> {
  #ids: number[] = new Array<number>(MIN_CAPACITY).fill(0);
  #values: Array<T | undefined> = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  #mask = MIN_CAPACITY - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(id: number): boolean {
    return this.#find(id) >= 0;
  }

  get(id: number): T | undefined {
    const at = this.#find(id);
    return at < 0 ? undefined : this.#values[at];
  }

  /** Adds or replaces the value for id. `undefined` is not a value this table can hold. */
  set(id: number, value: T): void {
    if (value === undefined) throw new TypeError('IdTable cannot hold undefined');
    const at = this.#find(id);
    if (at >= 0) {
      this.#values[at] = value;
      return;
    }
    // At most half full, so probes stay short even for ids that collide.
    if ((this.#size + 1) * 2 > this.#values.length) this.#resize(this.#values.length * 2);
    this.#place(id, value);
    this.#size += 1;
  }

  delete(id: number): boolean {
    let hole = this.#find(id);
    if (hole < 0) return false;
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    // Backward shift: pull later entries of the probe run into the hole so lookups never stop early.
    for (let next = (hole + 1) & mask; values[next] !== undefined; next = (next + 1) & mask) {
      const home = ids[next]! & mask;
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (between) continue;
      ids[hole] = ids[next]!;
      values[hole] = values[next];
      hole = next;
    }
    values[hole] = undefined;
    this.#size -= 1;
    return true;
  }

  /** The values, in no particular order; a copy, so the table may change while it is used. */
  values(): T[] {
    const out: T[] = [];
    for (const value of this.#values) if (value !== undefined) out.push(value);
    return out;
  }

  clear(): void {
    this.#ids = new Array<number>(MIN_CAPACITY).fill(0);
    this.#values = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.#mask = MIN_CAPACITY - 1;
    this.#size = 0;
  }

  #find(id: number): number {
    const values = this.#values;
    const mask = this.#mask;
    for (let at = id & mask; values[at] !== undefined; at = (at + 1) & mask) if (this.#ids[at] === id) return at;
    return -1;
  }

  #place(id: number, value: T): void {
    const mask = this.#mask;
    let at = id & mask;
    while (this.#values[at] !== undefined) at = (at + 1) & mask;
    this.#ids[at] = id;
    this.#values[at] = value;
  }

  #resize(capacity: number): void {
    const ids = this.#ids;
    const values = this.#values;
    this.#ids = new Array<number>(capacity).fill(0);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    for (let i = 0; i < values.length; i++) if (values[i] !== undefined) this.#place(ids[i]!, values[i]!);
  }
}
