// How many calls the daemon runs at once, across every caller and both doors
// (STORAGED_MAX_CALLS), and who goes next when it is full. Without it each
// socket connection could hold 256 calls and connections were unlimited, so
// memory grew with whatever callers chose to send.
//
// Calls past the limit wait in their client's lane, bounded three ways: how
// many wait in all (STORAGED_MAX_WAITING_CALLS), the bytes their headers hold,
// and how long each waits (STORAGED_CALL_WAIT_MS). Past any of them the call
// is refused with a retryable UNAVAILABLE naming the setting, so the caller
// backs off instead of the daemon running out of memory.
//
// Fairness is per client (the token's client id, on both doors): a freed slot
// goes to the waiting client with the fewest calls running, and no client
// ever runs more than LANE_SHARE of the slots: a flood of calls that never
// finish (uploads whose bodies never come) would otherwise hold every slot
// until they time out, and the fewest-running rule only helps once a slot
// frees. One connection is bounded further by the protocol's 256 calls in
// flight.

import { AdmissionRefusal } from './admission-refusal';
import { TenantQueue } from './tenant-queue';

export interface CallLimits {
  /** Calls running at once across all callers. */
  maxCalls: number;
  /** Calls waiting for a slot across all callers; past it, refused at once. */
  maxWaiting: number;
  /** Longest a call waits for a slot before it is refused. */
  waitMs: number;
}

/**
 * 1024 calls run at once: far more than two cores keep busy (getPhoto peaks
 * at 32 in flight), few enough that their state stays a few MiB; 4096 wait
 * behind them, each at most 5 s, within the client's 30 s call timeout so
 * that the caller hears a retryable refusal rather than its own timeout.
 */
export const DEFAULT_CALL_LIMITS: CallLimits = { maxCalls: 1024, maxWaiting: 4096, waitMs: 5000 };

/** What the admission tells a call that asked for a slot. */
export interface AdmissionTicket {
  /** The call's slot is granted: run it, and release(lane) exactly once when it is answered. */
  start(): void;
  /** No slot in time (or no room to wait): answer the call with this error. */
  refuse(error: AdmissionRefusal): void;
}

export interface AdmissionStats {
  running: number;
  waiting: number;
  waitingBytes: number;
  refused: number;
}

/** The share of all slots one client may run: the rest stay for everyone else. */
export const LANE_SHARE = 0.75;
/**
 * Bytes of call headers allowed to wait (a header may be up to 64 KiB, so
 * the count alone would let 4096 waiting calls hold 256 MiB).
 */
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;
/** How often waiting calls are checked against their deadline. */
const SWEEP_MS = 50;

interface Waiter {
  /** Increasing in order of arrival. */
  id: number;
  clientId: string;
  ticket: AdmissionTicket;
  bytes: number;
  deadline: number;
}

export class CallAdmission {
  readonly #limits: CallLimits;
  readonly #laneMax: number;
  /** Each client's lane: its calls running and waiting (tenant-queue.ts, which search threads share). */
  readonly #lanes = new TenantQueue<Waiter>();
  readonly #mayRun = (running: number) => running < this.#laneMax;
  #running = 0;
  #waitingBytes = 0;
  #refused = 0;
  #nextId = 1;
  #sweep: NodeJS.Timeout | null = null;

  constructor(limits: CallLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < (name === 'maxCalls' ? 1 : 0)) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
    }
    this.#limits = limits;
    this.#laneMax = Math.max(1, Math.floor(limits.maxCalls * LANE_SHARE));
  }

  stats(): AdmissionStats {
    return { running: this.#running, waiting: this.#lanes.size, waitingBytes: this.#waitingBytes, refused: this.#refused };
  }

  /**
   * A slot for one call of client `key` now, when one is free and nobody of
   * that client waits ahead of it; false otherwise (then wait()). Split from
   * wait() so that the common case allocates nothing.
   */
  tryEnter(key: string): boolean {
    if (this.#lanes.waitingOf(key) === 0 && this.#running < this.#limits.maxCalls && this.#mayRun(this.#lanes.runningOf(key))) {
      this.#begin(key);
      return true;
    }
    return false;
  }

  /**
   * Queues a call tryEnter() refused, whose header took `bytes`: its ticket
   * hears start() when a slot is its own, or refuse() (possibly at once, when
   * there is no room to wait, or after STORAGED_CALL_WAIT_MS).
   */
  wait(key: string, bytes: number, ticket: AdmissionTicket): void {
    const { maxWaiting, waitMs } = this.#limits;
    if (waitMs === 0 || bytes > MAX_WAITING_BYTES || !this.#makeRoom(key, bytes)) {
      this.#refused += 1;
      ticket.refuse(this.#refusal(maxWaiting === 0 || waitMs === 0 ? 'calls may not wait' : 'no room to wait'));
      return;
    }
    this.#lanes.push({ id: this.#nextId++, clientId: key, ticket, bytes, deadline: performance.now() + waitMs });
    this.#waitingBytes += bytes;
    this.#sweep ??= setInterval(() => this.#expire(), SWEEP_MS).unref();
    // A slot may have freed between tryEnter() and now (the ticket's owner may have done other work).
    this.#admitWaiters();
  }

  /**
   * Room in the queue for one more call of `key`. A full queue makes room by
   * refusing the newest waiter of the client with the most waiting, if that
   * client has more waiting than `key` would: a flood fills the queue, but
   * cannot keep a quieter client out of it.
   */
  #makeRoom(key: string, bytes: number): boolean {
    const full = () => this.#lanes.size + 1 > this.#limits.maxWaiting || this.#waitingBytes + bytes > MAX_WAITING_BYTES;
    while (full()) {
      const pushedOut = this.#lanes.makeRoom(key);
      if (pushedOut === null) return false;
      this.#left(pushedOut);
      this.#refused += 1;
      pushedOut.ticket.refuse(this.#refusal('no room to wait'));
    }
    return true;
  }

  /** A call that started is answered: its slot goes to the next waiter. */
  release(key: string): void {
    if (this.#lanes.runningOf(key) === 0) throw new Error(`release for client ${JSON.stringify(key)} that runs no call`);
    this.#lanes.finished(key);
    this.#running -= 1;
    this.#admitWaiters();
  }

  /** A waiting call whose caller went away: it leaves the queue without an answer. */
  withdraw(key: string, ticket: AdmissionTicket): void {
    const waiter = this.#lanes.remove(key, (w) => w.ticket === ticket);
    if (waiter !== null) this.#left(waiter);
  }

  #begin(key: string): void {
    this.#lanes.started(key);
    this.#running += 1;
  }

  /** A waiter is off the queue (admitted, refused or withdrawn). */
  #left(waiter: Waiter): void {
    this.#waitingBytes -= waiter.bytes;
    if (this.#lanes.size === 0 && this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }

  /** Hands free slots to waiters: each time to the waiting client with the fewest calls running, no client past its share. */
  #admitWaiters(): void {
    while (this.#running < this.#limits.maxCalls) {
      const waiter = this.#lanes.next(this.#mayRun);
      if (waiter === undefined) return;
      this.#left(waiter);
      this.#begin(waiter.clientId);
      waiter.ticket.start();
    }
  }

  #expire(): void {
    const now = performance.now();
    this.#lanes.expire(
      (waiter) => waiter.deadline <= now,
      (waiter) => {
        this.#left(waiter);
        this.#refused += 1;
        waiter.ticket.refuse(this.#refusal(`no slot within ${this.#limits.waitMs} ms`));
      },
    );
  }

  #refusal(why: string): AdmissionRefusal {
    const { maxCalls, maxWaiting } = this.#limits;
    return new AdmissionRefusal(
      `storaged is running its limit of ${maxCalls} calls (STORAGED_MAX_CALLS) with ${this.#lanes.size} waiting (STORAGED_MAX_WAITING_CALLS ${maxWaiting}): ${why}; retry later`,
      1,
    );
  }
}
