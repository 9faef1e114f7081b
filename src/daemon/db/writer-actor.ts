// The one place that writes to SQLite. Callers submit small synchronous ops;
// they are batched into one transaction per turn of the event loop, so 200
// concurrent stores cost a handful of fsyncs instead of 200. Each op runs in
// its own SAVEPOINT: a failing op is undone alone and rejects only its caller.

import { diskFullAs } from '../disk-full';
import { ClosedError } from '../../protocol/errors';
import type { Logger } from '../logger';
import type { Db } from './open-database';

export interface WriterStats {
  /** Transactions begun (one per batch). */
  transactions: number;
  /** Ops settled, successfully or not. */
  writes: number;
  /** Ops rejected. */
  failedWrites: number;
  largestBatch: number;
  /** Transactions committed with an fsync (synchronous=FULL). */
  syncedTransactions: number;
  /** Ops submitted and waiting for the next batch (read at the time of the call). */
  queueDepth: number;
}

export interface SubmitOptions {
  /**
   * Whether the op's effect must survive power loss once its promise
   * resolves (default true). A batch is fsynced at COMMIT when any of its ops
   * is durable; a batch of only non-durable ops is not, which is safe in WAL
   * mode because the next synced COMMIT makes every earlier frame durable too.
   */
  durable?: boolean;
}

export interface WriterOptions {
  /** Most ops committed by one transaction. */
  maxBatch?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_BATCH = 512;

interface Job {
  op: (db: Db) => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class WriterActor {
  readonly #db: Db;
  readonly #maxBatch: number;
  readonly #logger: Logger | undefined;
  readonly #mailbox: Job[] = [];
  readonly #idleWaiters: Array<() => void> = [];
  readonly #stats: Omit<WriterStats, 'queueDepth'> = { transactions: 0, writes: 0, failedWrites: 0, largestBatch: 0, syncedTransactions: 0 };
  /** The connection's current synchronous setting, so the pragma runs only when it changes. */
  #synced = true;
  #scheduled = false;
  #closing: Promise<void> | null = null;
  readonly #sql: ReturnType<typeof prepareTransactionControl>;

  constructor(db: Db, options: WriterOptions = {}) {
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
    this.#db = db;
    this.#maxBatch = maxBatch;
    this.#logger = options.logger;
    this.#sql = prepareTransactionControl(db);
  }

  /** Runs `op` inside the next batch's transaction. `op` must be synchronous. */
  submit<T>(op: (db: Db) => T, options: SubmitOptions = {}): Promise<T> {
    if (this.#closing !== null) return Promise.reject(new ClosedError('the catalog is closed'));
    const durable = options.durable ?? true;
    return new Promise<T>((resolve, reject) => {
      this.#mailbox.push({ op, durable, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  stats(): WriterStats {
    return { ...this.#stats, queueDepth: this.#mailbox.length };
  }

  /** Refuses new work, finishes what was submitted, then closes the connection. */
  close(): Promise<void> {
    this.#closing ??= this.#whenIdle().then(() => {
      this.#db.close();
    });
    return this.#closing;
  }

  #whenIdle(): Promise<void> {
    if (this.#mailbox.length === 0 && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#mailbox.splice(0, this.#maxBatch);
    if (batch.length > 0) this.#runBatch(batch);
    // One batch per turn: socket reads and timers get to run between batches.
    if (this.#mailbox.length > 0) {
      this.#schedule();
    } else {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  #runBatch(batch: Job[]): void {
    this.#stats.transactions++;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, batch.length);
    const synced = batch.some((job) => job.durable);
    if (synced) this.#stats.syncedTransactions++;
    try {
      if (synced !== this.#synced) {
        // Not a prepared statement: SQLite applies this pragma when compiling it, not when running it.
        this.#db.pragma(`synchronous = ${synced ? 'FULL' : 'NORMAL'}`);
        this.#synced = synced;
      }
      this.#sql.begin.run();
    } catch (err) {
      this.#settle(batch, batch.map(() => ({ ok: false, error: err })));
      return;
    }

    const outcomes: Outcome[] = [];
    for (const [index, job] of batch.entries()) {
      const outcome = this.#runOne(job.op);
      outcomes.push(outcome);
      if (!outcome.ok && !this.#db.inTransaction) {
        // Some errors (disk full, I/O, a trigger's RAISE(ROLLBACK)) make SQLite
        // roll back the whole transaction, undoing the ops before this one too.
        // Those did nothing wrong: failing them with this op's error told their
        // callers of a fault not theirs (INTERNAL for a trigger's). They go back
        // to the front of the mailbox with the ones not yet run, to run again
        // in a fresh batch as if for the first time (ops are synchronous and
        // their only lasting effect is in the database, which forgot them).
        // This op alone is settled, and those before it already failed alone
        // (their savepoints rolled back), so each such batch settles at least
        // one op: a cause that persists (a full disk) cannot loop forever.
        const settled = outcomes.map((o, i) => ({ o, job: batch[i]! })).filter(({ o }) => !o.ok);
        this.#settle(settled.map(({ job }) => job), settled.map(({ o }) => o));
        const undone = batch.slice(0, index).filter((_, i) => outcomes[i]!.ok);
        this.#mailbox.unshift(...undone, ...batch.slice(index + 1));
        return;
      }
    }

    try {
      this.#sql.commit.run();
    } catch (err) {
      this.#logger?.error({ err, batch: batch.length }, 'writer commit failed; every op of the batch is rejected');
      if (this.#db.inTransaction) this.#sql.rollback.run();
      this.#settle(batch, batch.map(() => ({ ok: false, error: err })));
      return;
    }
    this.#settle(batch, outcomes);
  }

  #runOne(op: (db: Db) => unknown): Outcome {
    let opened = false;
    try {
      this.#sql.savepoint.run();
      opened = true;
      const value = op(this.#db);
      if (isThenable(value)) {
        value.then(undefined, () => undefined);
        throw new TypeError('a writer op returned a promise; ops must be synchronous so they fit in one transaction');
      }
      this.#sql.release.run();
      return { ok: true, value };
    } catch (error) {
      if (opened && this.#db.inTransaction) {
        this.#sql.rollbackTo.run();
        this.#sql.release.run();
      }
      return { ok: false, error };
    }
  }

  #settle(jobs: Job[], outcomes: Outcome[]): void {
    jobs.forEach((job, index) => {
      const outcome = outcomes[index]!;
      this.#stats.writes++;
      if (outcome.ok) {
        job.resolve(outcome.value);
      } else {
        this.#stats.failedWrites++;
        job.reject(diskFullAs(outcome.error, `the database ${this.#db.name}`));
      }
    });
  }
}

function prepareTransactionControl(db: Db) {
  return {
    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on lock upgrade.
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT writer_op'),
    release: db.prepare('RELEASE writer_op'),
    rollbackTo: db.prepare('ROLLBACK TO writer_op'),
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
