// Work waiting for a slot (a call for a call slot, call-admission.ts; a search
// for a search thread, search-threads.ts), and who goes next: per tenant
// (client id). A free slot takes the oldest waiting item of the tenant with
// the fewest running; between equals, of the one served longest ago (round
// robin: with one slot, every tenant has none running when it frees), then
// of the one whose oldest item is oldest. A tenant alone gets every slot.
//
// In order of arrival across tenants, one tenant's flood of broad searches
// (each up to STORAGED_SEARCH_TIMEOUT_MS) held every thread, and another's
// search of a millisecond waited behind all of it, then was refused for
// waiting too long.
//
// A full queue makes room for a quieter tenant by refusing the newest item
// of the tenant with the most waiting (makeRoom): no fixed share per tenant,
// so a tenant alone may still fill it.
//
// Choosing scans the tenants that wait, not their items: the queue may hold
// thousands, the tenants are few.

/** What the queue needs of an item: its tenant, and its place in arrival order. */
export interface QueuedItem {
  /** Increasing in order of arrival. */
  id: number;
  clientId: string;
}

interface Tenant<T> {
  clientId: string;
  /** Oldest first. */
  waiting: T[];
  running: number;
  /** The turn at which this tenant last got a slot (0: not since it was last idle). */
  servedAt: number;
}

export class TenantQueue<T extends QueuedItem> {
  /** Tenants with items waiting or running; an idle one is forgotten. */
  readonly #tenants = new Map<string, Tenant<T>>();
  /** Tenants with at least one item waiting: what a choice scans. */
  readonly #queued = new Set<Tenant<T>>();
  #size = 0;
  #turn = 0;

  /** Items waiting, across tenants. */
  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    const tenant = this.#tenant(item.clientId);
    tenant.waiting.push(item);
    this.#queued.add(tenant);
    this.#size++;
  }

  /** Items of `clientId` running now. */
  runningOf(clientId: string): number {
    return this.#tenants.get(clientId)?.running ?? 0;
  }

  /** Items of `clientId` waiting now. */
  waitingOf(clientId: string): number {
    return this.#tenants.get(clientId)?.waiting.length ?? 0;
  }

  /**
   * Takes the item that goes next off the queue, among tenants whose running
   * count `mayRun` accepts (all by default); call started() when it runs.
   */
  next(mayRun?: (running: number) => boolean): T | undefined {
    let next: Tenant<T> | null = null;
    for (const tenant of this.#queued) {
      if (mayRun !== undefined && !mayRun(tenant.running)) continue;
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

  /** An item of `clientId` now runs: one next() took, or one that never had to wait. */
  started(clientId: string): void {
    const tenant = this.#tenant(clientId);
    tenant.running++;
    tenant.servedAt = ++this.#turn;
  }

  /** An item of `clientId` that started() is over. */
  finished(clientId: string): void {
    const tenant = this.#tenants.get(clientId);
    if (tenant === undefined || tenant.running === 0) throw new Error(`finished() for client ${JSON.stringify(clientId)} that runs no search`);
    tenant.running--;
    this.#drop(tenant);
  }

  /** Takes off the queue the first waiting item of `clientId` that `matches` (its caller went away), if any. */
  remove(clientId: string, matches: (item: T) => boolean): T | null {
    const tenant = this.#tenants.get(clientId);
    const at = tenant?.waiting.findIndex(matches) ?? -1;
    return at === -1 ? null : this.#unqueue(tenant!, at);
  }

  /**
   * Takes off each tenant's oldest items while `expired` says so (items wait
   * equally long, so a tenant's are in deadline order), handing each to
   * `gone` as it leaves.
   */
  expire(expired: (item: T) => boolean, gone: (item: T) => void): void {
    for (const tenant of [...this.#queued]) {
      while (tenant.waiting.length > 0 && expired(tenant.waiting[0]!)) gone(this.#unqueue(tenant, 0));
    }
  }

  /**
   * The queue is full and an item of `clientId` wants in: the newest
   * waiting item of the tenant with the most waiting, taken off the queue
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

  /** Every waiting item, oldest first per tenant (search threads restamp their wait). */
  *waiting(): Iterable<T> {
    for (const tenant of this.#queued) yield* tenant.waiting;
  }

  /** Empties the queue (closing, or nothing can run them); the caller answers each. */
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
    const [item] = tenant.waiting.splice(at, 1);
    this.#size--;
    if (tenant.waiting.length === 0) this.#queued.delete(tenant);
    this.#drop(tenant);
    return item!;
  }

  /** Forgets an idle tenant, so the map holds only tenants with items. */
  #drop(tenant: Tenant<T>): void {
    if (tenant.running === 0 && tenant.waiting.length === 0) this.#tenants.delete(tenant.clientId);
  }
}
