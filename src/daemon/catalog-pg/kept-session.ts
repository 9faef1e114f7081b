// One PostgreSQL session kept open for as long as the daemon runs, outside the
// pool: for what belongs to a session and would go with a pooled connection
// to whoever takes it next (a session advisory lock: node-lock.ts) or must
// stay put to be heard (LISTEN: shared-photo-cache.ts).
//
// What keeps it, for both users alike:
// - a heartbeat query every few seconds: a connection cut without a reset
//   (a partition, a host gone) looks idle, not broken, until a query on it
//   fails (within the heartbeat plus the query timeout);
// - on an error, an end or a failed heartbeat, the session is lost: its user
//   hears so once, and a new one is tried after a back-off that doubles from
//   250 ms up to the user's cap, until one is ready;
// - server-side TCP keepalives: a host that vanishes without closing its
//   connection would otherwise keep its session (and whatever the session
//   holds: a node id's lock) on the server for the kernel's default, often
//   two hours. With these PostgreSQL ends it within about 30 s. (Ignored on
//   Unix-socket connections, which cannot be cut that way.)

import { Client, type ClientConfig } from 'pg';
import type { Logger } from '../logger';

const HEARTBEAT_MS = 3_000;
const RECONNECT_MIN_MS = 250;
const SESSION_KEEPALIVES = 'SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';

export interface KeptSessionOptions {
  /** Connection settings (the pool's: its timeouts bound the heartbeat too). */
  config: ClientConfig;
  /** The session's application_name, as pg_stat_activity shows it to operators (and to other daemons). */
  name: string;
  /** The longest wait between two connection attempts. */
  maxRetryMs: number;
  logger: Logger;
  /**
   * Runs on every new connection before it counts as kept (LISTEN, taking a
   * lock); `first` on the one start() or startOrRetry() makes. A throw fails
   * the attempt: start() rejects with it; later attempts are retried.
   */
  ready(client: Client, first: boolean): Promise<void>;
  /** The heartbeat's query (default: SELECT 1). A throw loses the session. */
  beat?(client: Client): Promise<void>;
  /**
   * The session is down and the next attempt comes in `retryInMs`: a kept
   * session was lost, an attempt failed after `ready` had begun (whatever
   * ready set up is gone with it), or startOrRetry's first attempt failed.
   * Not called after close(), nor for a retry that cannot connect at all
   * (the user already heard the session was down).
   */
  lost(err: Error | undefined, retryInMs: number): void;
}

export class KeptSession {
  readonly #options: KeptSessionOptions;
  /** The connection being attempted or kept; null while waiting to retry and once closed. */
  #client: Client | null = null;
  #kept = false;
  #heartbeat: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #retryMs = RECONNECT_MIN_MS;
  /** Whether the latest attempt got as far as `ready`. */
  #readying = false;
  #closed = false;

  constructor(options: KeptSessionOptions) {
    this.#options = options;
  }

  /** Connects and readies a first session, or rejects with why (nothing is kept or retried then). */
  async start(): Promise<void> {
    await this.#connect(true);
  }

  /** As start(), but a first attempt that fails is reported through `lost` and retried. */
  async startOrRetry(): Promise<void> {
    try {
      await this.#connect(true);
    } catch (err) {
      if (this.#closed) return;
      this.#options.lost(err instanceof Error ? err : undefined, this.#retryMs);
      this.#scheduleRetry();
    }
  }

  /** Whether a session is kept now (connected, ready, not lost since). */
  get kept(): boolean {
    return this.#kept;
  }

  /** Whether `client` is still this session's connection: a result that comes back on one lost or closed meanwhile is stale. */
  current(client: Client): boolean {
    return this.#client === client;
  }

  /** Ends the session (and whatever it holds); nothing is retried after. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#stopBeating();
    this.#kept = false;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  async #connect(first: boolean): Promise<void> {
    const client = new Client({ ...this.#options.config, application_name: this.#options.name });
    this.#client = client;
    this.#readying = false;
    let kept = false;
    let cut: { err: Error | undefined } | undefined;
    const lost = (err?: Error) => {
      if (kept) this.#lose(client, err);
      else cut ??= { err };
    };
    // Listened to for the client's whole life: an 'error' with no listener would take the process down.
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(SESSION_KEEPALIVES);
      this.#readying = true;
      await this.#options.ready(client, first);
      // Cut after ready's last query answered: its work (LISTEN, a lock) went with the session.
      if (cut !== undefined) throw cut.err ?? new Error('the connection ended while it was being readied');
      if (!this.current(client)) throw new Error('the session was closed while it was being readied');
    } catch (err) {
      if (this.current(client)) this.#client = null;
      // Not awaited: on a server that stopped answering, ending could wait as long as it does, and hold up the retry.
      client.end().catch(() => undefined);
      throw err;
    }
    kept = true;
    this.#kept = true;
    this.#retryMs = RECONNECT_MIN_MS;
    this.#startBeating(client);
  }

  #lose(client: Client, err: Error | undefined): void {
    if (!this.current(client)) return;
    this.#client = null;
    this.#kept = false;
    this.#stopBeating();
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#options.lost(err, this.#retryMs);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#retry();
    }, this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#options.maxRetryMs);
  }

  async #retry(): Promise<void> {
    try {
      await this.#connect(false);
    } catch (err) {
      if (this.#closed) return;
      const cause = err instanceof Error ? err : undefined;
      if (this.#readying) this.#options.lost(cause, this.#retryMs);
      else this.#options.logger.debug({ session: this.#options.name, err: cause && { message: cause.message }, retryInMs: this.#retryMs }, 'a kept catalog session could not be opened again yet');
      this.#scheduleRetry();
    }
  }

  #startBeating(client: Client): void {
    const beat = this.#options.beat ?? ((c: Client) => c.query('SELECT 1').then(() => undefined));
    // One beat at a time: a slow one (a lock tried while the server is busy) is not stacked on.
    let beating = false;
    this.#heartbeat = setInterval(() => {
      if (beating) return;
      beating = true;
      beat(client)
        .catch((err: Error) => this.#lose(client, err))
        .finally(() => (beating = false));
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  #stopBeating(): void {
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }
}
