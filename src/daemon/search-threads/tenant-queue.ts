// The searches waiting for a search thread, and who goes next: per tenant
// (client id), as calls do at admission (admission/call-admission.ts). A free
// thread takes the oldest waiting search of the tenant with the fewest
// searches running; between equals, of the one served longest ago (round
// robin: with one thread, every tenant has none running when it frees), then
// of the one whose oldest search is oldest. A tenant alone gets every thread.
//
// In order of arrival across tenants, one tenant's flood of broad searches
// (each up to STORAGED_SEARCH_TIMEOUT_MS) held every thread, and another's
// search of a millisecond waited behind all of it, then was refused for
// waiting too long.
//
// A full queue makes room for a quieter tenant by refusing the newest
// search of the tenant with the most waiting (makeRoom), as call admission
// does: no fixed share per tenant, so a tenant alone may still fill it.
//
// Choosing scans the tenants that wait, not their searches: the queue may
// hold STORAGED_MAX_CALLS searches, the tenants are few.

/** What the queue needs of a search: its tenant, and its place in arrival order. */
export interface QueuedSearch {
  /** Increasing in order of arrival. */
  id: number;
  clientId: string;
}

interface Tenant<T> {
  clientId: string;
  /** Oldest first. */
  waiting: T[];
  running: number;
  /** The turn at which this tenant last got a thread (0: not since it was last idle). */
  servedAt: number;
}

export class TenantQueue<T extends QueuedSearch> {
  /** Tenants with searches waiting or running; an idle one is forgotten. */
  readonly #tenants = new Map<string, Tenant<T>>();
  /** Tenants with at least one search waiting: what a choice scans. */
  readonly #queued = new Set<Tenant<T>>();
  #size = 0;
  #turn = 0;

  /** Searches waiting, across tenants. */
  get size(): number {
    return this.#size;
  }

  push(search: T): void {
    const tenant = this.#tenant(search.clientId);
    tenant.waiting.push(search);
    this.#queued.add(tenant);
    this.#size++;
  }

  /** Takes the search that goes next off the queue; call started() when a thread runs it. */
  next(): T | undefined {
    let next: Tenant<T> | null = null;
    for (const tenant of this.#queued) {
      if (
        next === null ||
        tenant.running < next.running ||
        (tenant.running === next.running &&
          (tenant.servedAt < next.servedAt || (tenant.servedAt === next.servedAt && tenant.waiting[0]!.id < next.waiting[0]!.id)))
      ) {
        next = tenant;
      }
    }
    return next === null ? undefined : this.#unqueue(next, 0);
  }

  /** A search taken by next() now runs on a thread. */
  started(search: T): void {
    const tenant = this.#tenant(search.clientId);
    tenant.running++;
    tenant.servedAt = ++this.#turn;
  }

  /** A search that started() is answered (or its thread lost). */
  finished(search: T): void {
    const tenant = this.#tenants.get(search.clientId);
    if (tenant === undefined || tenant.running === 0) throw new Error(`finished() for client ${JSON.stringify(search.clientId)} that runs no search`);
    tenant.running--;
    this.#drop(tenant);
  }

  /**
   * The queue is full and a search of `clientId` wants in: the newest
   * waiting search of the tenant with the most waiting, taken off the queue
   * to be refused in its place, if that tenant has more waiting than
   * `clientId` would. A flood fills the queue, but cannot keep a quieter
   * tenant out of it. Null: refuse the newcomer.
   */
  makeRoom(clientId: string): T | null {
    let biggest: Tenant<T> | null = null;
    for (const tenant of this.#queued) if (biggest === null || tenant.waiting.length > biggest.waiting.length) biggest = tenant;
    const own = this.#tenants.get(clientId)?.waiting.length ?? 0;
    if (biggest === null || biggest.waiting.length <= own + 1) return null;
    return this.#unqueue(biggest, biggest.waiting.length - 1);
  }

  /** Every waiting search, oldest first per tenant (to restamp their wait). */
  *waiting(): Iterable<T> {
    for (const tenant of this.#queued) yield* tenant.waiting;
  }

  /** Empties the queue (closing, or the catalog cannot be opened); the caller answers each. */
  takeAll(): T[] {
    const all: T[] = [];
    for (const tenant of this.#queued) {
      all.push(...tenant.waiting.splice(0));
      this.#drop(tenant);
    }
    this.#queued.clear();
    this.#size = 0;
    return all;
  }

  #tenant(clientId: string): Tenant<T> {
    let tenant = this.#tenants.get(clientId);
    if (tenant === undefined) {
      tenant = { clientId, waiting: [], running: 0, servedAt: 0 };
      this.#tenants.set(clientId, tenant);
    }
    return tenant;
  }

  #unqueue(tenant: Tenant<T>, at: number): T {
    const [search] = tenant.waiting.splice(at, 1);
    this.#size--;
    if (tenant.waiting.length === 0) this.#queued.delete(tenant);
    this.#drop(tenant);
    return search!;
  }

  /** Forgets an idle tenant, so the map holds only tenants with searches. */
  #drop(tenant: Tenant<T>): void {
    if (tenant.running === 0 && tenant.waiting.length === 0) this.#tenants.delete(tenant.clientId);
  }
}
