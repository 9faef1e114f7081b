// Asks a worker thread for a PASSIVE WAL checkpoint shortly after writes, so
// the writer's COMMITs on the event loop never do the copying and fsyncing of
// an auto-checkpoint (measured: ~10% of insert throughput, and a pause for
// everything else the daemon is doing meanwhile).

import type { Logger } from '../logger';

export type CheckpointRunner = (file: string) => Promise<{ busy: number; log: number; checkpointed: number }>;

/** The writer's own auto-checkpoint stays as a backstop (~200 MB of WAL) should the worker fall behind. */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 50_000;
const INTERVAL_MS = 250;

export class CheckpointScheduler {
  #timer: NodeJS.Timeout;
  #running: Promise<void> | null = null;
  #seenTransactions = -1;

  constructor(
    private readonly file: string,
    private readonly run: CheckpointRunner,
    private readonly transactions: () => number,
    private readonly logger: Logger,
  ) {
    this.#timer = setInterval(() => this.#tick(), INTERVAL_MS);
    this.#timer.unref();
  }

  #tick(): void {
    const now = this.transactions();
    if (this.#running !== null || now === this.#seenTransactions) return;
    this.#seenTransactions = now;
    this.#running = this.run(this.file)
      .then(
        () => undefined,
        (err) => this.logger.warn({ err }, 'WAL checkpoint in the worker failed; will retry'),
      )
      .finally(() => {
        this.#running = null;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
