// The PostgreSQL catalog's writes, batched the way the SQLite WriterActor
// batches them: ops submitted in the same turn of the event loop share one
// transaction on one pooled connection, each inside its own SAVEPOINT so a
// failing op is undone alone and rejects only its caller. A batch of only
// non-durable ops (pending inserts, discards) commits with
// synchronous_commit off, as the SQLite writer skips the fsync for them: the
// next durable commit flushes the WAL up to and including them.
//
// Batches run one at a time per daemon. Several daemons share the database,
// so concurrent batches still meet in PostgreSQL, which serialises them by
// row locks; within a daemon, one batch at a time is what makes a tick's
// writes one WAL flush instead of one each.

import type { Pool, PoolClient } from 'pg';
import { ClosedError } from '../../protocol/errors';
import type { Logger } from '../logger';
import type { CatalogStats } from '../db/photo-catalog';
import { catalogError, isConnectionBroken, retryingEndedConnections } from './pg-errors';

export type PgOp<T> = (client: PoolClient) => Promise<T>;

interface Job {
  op: PgOp<unknown>;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Most ops in one transaction: a batch holds its row locks until COMMIT. */
export const DEFAULT_PG_MAX_BATCH = 256;

export class PgWriter {
  readonly #pool: Pool;
  readonly #maxBatch: number;
  readonly #logger: Logger;
  #mailbox: Job[] = [];
  #running: Promise<void> | null = null;
  #scheduled = false;
  #closed = false;
  readonly #stats: CatalogStats = { transactions: 0, writes: 0, failedWrites: 0, largestBatch: 0 };

  constructor(pool: Pool, logger: Logger, maxBatch = DEFAULT_PG_MAX_BATCH) {
    this.#pool = pool;
    this.#logger = logger;
    this.#maxBatch = maxBatch;
  }

  submit<T>(op: PgOp<T>, options: { durable?: boolean } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('the catalog is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#mailbox.push({ op, durable: options.durable ?? true, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  stats(): CatalogStats {
    return { ...this.#stats };
  }

  /** Refuses new ops and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running !== null || this.#mailbox.length > 0) {
      if (this.#running === null) this.#drain();
      await this.#running;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every op submitted in this turn joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#running !== null || this.#mailbox.length === 0) return;
    const batch = this.#mailbox.splice(0, this.#maxBatch);
    this.#running = this.#runBatch(batch).finally(() => {
      this.#running = null;
      if (this.#mailbox.length > 0) this.#schedule();
    });
  }

  async #runBatch(batch: Job[]): Promise<void> {
    this.#stats.transactions++;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, batch.length);
    let client: PoolClient;
    try {
      client = await this.#begun();
    } catch (err) {
      this.#settleAll(batch, catalogError(err));
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let broken: unknown = null;
    try {
      if (!batch.some((job) => job.durable)) await client.query('SET LOCAL synchronous_commit = off');
      for (const job of batch) {
        // One op alone needs no savepoint: its failure rolls back the whole (its own) transaction.
        const alone = batch.length === 1;
        if (!alone) await client.query('SAVEPOINT op');
        try {
          const value = await job.op(client);
          if (!alone) await client.query('RELEASE SAVEPOINT op');
          outcomes.push({ ok: true, value });
        } catch (error) {
          // The connection failed under the op: the whole transaction went with it, so every op of the batch fails.
          if (isConnectionBroken(error)) throw error;
          if (!alone) await client.query('ROLLBACK TO SAVEPOINT op');
          outcomes.push({ ok: false, error });
        }
      }
      await client.query(batch.length === 1 && !outcomes[0]!.ok ? 'ROLLBACK' : 'COMMIT');
    } catch (err) {
      broken = err;
      // On a broken connection a ROLLBACK would only wait out the read timeout a second time (a hung server
      // never answers); the connection is destroyed below, and PostgreSQL rolls back what it leaves open.
      if (!isConnectionBroken(err)) await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      // A connection that failed mid-batch is not given back to others.
      client.release(broken instanceof Error && isConnectionLoss(broken) ? broken : undefined);
    }
    if (broken !== null) {
      this.#logger.warn({ err: broken, ops: batch.length }, 'catalog write batch failed');
      this.#settleAll(batch, catalogError(broken));
      return;
    }
    batch.forEach((job, i) => {
      const outcome = outcomes[i]!;
      this.#stats.writes++;
      if (outcome.ok) job.resolve(outcome.value);
      else {
        this.#stats.failedWrites++;
        job.reject(catalogError(outcome.error));
      }
    });
  }

  /**
   * A pooled connection with the batch's transaction begun on it. Right after
   * a PostgreSQL restart every idle connection is dead until used, and one the
   * server had ended fails at BEGIN, before any op ran: the batch takes
   * another connection rather than failing its callers.
   */
  #begun(): Promise<PoolClient> {
    return retryingEndedConnections(this.#pool, async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('BEGIN');
        return client;
      } catch (err) {
        client.release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    });
  }

  #settleAll(batch: Job[], error: unknown): void {
    for (const job of batch) {
      this.#stats.writes++;
      this.#stats.failedWrites++;
      job.reject(error);
    }
  }
}

function isConnectionLoss(err: Error): boolean {
  return !('code' in err) || typeof (err as { code?: unknown }).code !== 'string' || !/^[0-9A-Z]{5}$/.test((err as { code: string }).code);
}
