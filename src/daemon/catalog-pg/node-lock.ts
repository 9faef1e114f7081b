// This daemon's hold on its node id (STORAGED_NODE_ID) in a shared catalog.
//
// Recovery settles a node's own unfinished rows at once at start (nothing of
// its own can be in flight then) and other nodes' only past the pending
// timeout. That holds only while no other running daemon writes rows under
// the same id: one starting beside it would roll back the first one's stores
// in progress as its own leftovers. So a daemon holds a session-level
// advisory lock keyed from its node id for as long as it runs, on a
// connection of its own (a pooled one goes back to the pool, and a session
// lock with it to whoever takes that connection next):
// - at start, an id whose lock another session holds refuses the start,
//   before anything is recovered (or migrated);
// - the lock goes with the session, so a daemon that dies (kill -9 too) frees
//   its id as soon as PostgreSQL sees its connection close;
// - while running, a lost connection (PostgreSQL restarted, an operator
//   ended the session) loses the lock: it is taken again once PostgreSQL
//   answers. Until then, and for as long as another daemon holds it, `held`
//   is false, the daemon says so loudly (log, /ready), and recovery settles
//   this node's rows only past the pending timeout, as it does anyone's.
//
// Key: pg_try_advisory_lock(int4, int4) with class 'stnd' and hashtext of the
// node id, computed by the server from a bound parameter. PostgreSQL keeps
// the two-int key space apart from the bigint one (the migrations' lock),
// and the class differs from the sweeps' ('stor'), so this lock never meets
// another of storaged's. Two different ids with the same 32-bit hash (about
// one chance in 4 billion per pair) would refuse each other; the message's
// advice (set the ids apart) still fixes that.

import { Client, type ClientConfig } from 'pg';
import { UnavailableError } from '../../protocol/errors';
import { ConfigError } from '../config/config-error';
import type { Logger } from '../logger';

/** The advisory lock class of node ids: the ASCII of 'stnd' (the sweeps use 'stor'). */
export const NODE_LOCK_CLASS = 0x73746e64;
/** The lock of node id $1 (text), on the server's hashtext: every daemon of a catalog asks the same server, so they agree. */
const TAKE = 'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked';

/**
 * A daemon killed a moment ago still holds its id until PostgreSQL has seen
 * its connection close (usually milliseconds later): its successor under the
 * same id (systemd's restart, a test) tries for this long before refusing.
 */
const START_GRACE_MS = 2_000;
const START_RETRY_MS = 200;
/** As the photo cache's listener (shared-photo-cache.ts): a cut without a reset is found by a query. */
const HEARTBEAT_MS = 3_000;
const RECONNECT_MIN_MS = 250;
/**
 * Lower than the photo cache's 10 s: /ready stays 503 until the id is held
 * again, so a daemon should not sit out seconds after PostgreSQL is back;
 * one connection attempt every 2 s costs nothing.
 */
const RECONNECT_MAX_MS = 2_000;
/** While another daemon holds the id, the error is logged again this often (the lock is tried at every heartbeat). */
const COMPLAIN_EVERY_MS = 60_000;
/**
 * Server-side TCP keepalives of the lock's session: a host that vanishes
 * without closing its connection (power lost, a partition) would otherwise
 * keep its id locked for the server's default (often two hours), and its
 * restarted daemon refused all that time. With these, PostgreSQL ends that
 * session within about 30 s. (Ignored on Unix-socket connections, which
 * cannot be cut that way.)
 */
const SESSION_KEEPALIVES = 'SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';

/**
 * The start refused: another running daemon holds this node id. A setting to
 * change (hence a ConfigError), but the daemon exits 1 like other refused
 * starts, not 78: the service manager keeps retrying, so a restart that
 * only waited for PostgreSQL to drop a dead host's session goes through.
 */
export class NodeIdInUseError extends ConfigError {
  readonly code = 'NODE_ID_IN_USE';
  readonly nodeId: string;
  constructor(nodeId: string) {
    super(
      'STORAGED_NODE_ID',
      `node id '${nodeId}' is in use by another running storaged on this PostgreSQL catalog (it holds the id's lock); ` +
        "starting under it would settle that daemon's stores in progress as this one's leftovers. " +
        'Set STORAGED_NODE_ID apart: each running daemon needs its own (two on one host too)',
    );
    this.name = 'NodeIdInUseError';
    this.nodeId = nodeId;
  }
}

export type NodeLockState = 'held' | 'held-elsewhere' | 'disconnected';

export class NodeLock {
  readonly nodeId: string;
  readonly #config: ClientConfig;
  readonly #logger: Logger;
  #client: Client | null = null;
  #state: NodeLockState = 'disconnected';
  #heartbeat: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #retryMs = RECONNECT_MIN_MS;
  #beating = false;
  #lastComplaint = 0;
  #closed = false;

  private constructor(nodeId: string, config: ClientConfig, logger: Logger) {
    this.nodeId = nodeId;
    this.#config = config;
    this.#logger = logger;
  }

  /** Takes the id's lock, or throws NodeIdInUseError (an outage: pg's error, for the caller to map). */
  static async take(nodeId: string, config: ClientConfig, logger: Logger): Promise<NodeLock> {
    const lock = new NodeLock(nodeId, config, logger);
    const client = await lock.#open();
    try {
      const deadline = Date.now() + START_GRACE_MS;
      while (!(await lock.#tryTake(client))) {
        if (Date.now() >= deadline) throw new NodeIdInUseError(nodeId);
        await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    lock.#watch(client);
    lock.#state = 'held';
    return lock;
  }

  /** Whether this daemon holds its id now: only then may recovery treat the id's young rows as its own leftovers. */
  get held(): boolean {
    return this.#state === 'held';
  }

  get state(): NodeLockState {
    return this.#state;
  }

  /** For /ready: resolves while the id is held; otherwise UNAVAILABLE saying why. */
  async check(): Promise<void> {
    if (this.#state === 'held') return;
    throw new UnavailableError(
      this.#state === 'held-elsewhere'
        ? `another running storaged holds node id '${this.nodeId}': set STORAGED_NODE_ID apart on each daemon`
        : `the connection holding node id '${this.nodeId}' is down; taken again once PostgreSQL answers`,
    );
  }

  /** Gives the id back (ends its session). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#stopBeating();
    const client = this.#client;
    this.#client = null;
    this.#state = 'disconnected';
    await client?.end().catch(() => undefined);
  }

  /** A connected session for the lock; its errors surface through its queries (and, once watched, through #watch). */
  async #open(): Promise<Client> {
    const client = new Client({ ...this.#config, application_name: 'storaged node lock' });
    // Kept for the client's whole life: an 'error' with no listener would take the process down.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(SESSION_KEEPALIVES);
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  async #tryTake(client: Client): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean }>(TAKE, [NODE_LOCK_CLASS, this.nodeId]);
    return rows[0]!.locked;
  }

  /** Follows `client` until it is lost: a heartbeat finds a silent cut, and tries the lock again while someone else holds it. */
  #watch(client: Client): (err?: Error) => void {
    this.#client = client;
    const lost = (err?: Error) => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#stopBeating();
      this.#state = 'disconnected';
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#logger.warn(
        { nodeId: this.nodeId, err: err && { message: err.message }, retryInMs: this.#retryMs },
        "lost the catalog connection holding this daemon's node id; taking it again once PostgreSQL answers (until then its own rows are settled only past the pending timeout)",
      );
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.#heartbeat = setInterval(() => {
      if (this.#beating) return;
      this.#beating = true;
      const beat = this.#state === 'held' ? client.query('SELECT 1').then(() => undefined) : this.#takeAgain(client);
      beat.catch((err: Error) => lost(err)).finally(() => (this.#beating = false));
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    return lost;
  }

  async #takeAgain(client: Client): Promise<void> {
    const got = await this.#tryTake(client);
    if (this.#client !== client) {
      // Lost or closed meanwhile: a lock just taken goes with the session that end() closes.
      return;
    }
    if (got) {
      this.#state = 'held';
      this.#lastComplaint = 0;
      this.#logger.info({ nodeId: this.nodeId }, 'holding this daemon\'s node id again');
      return;
    }
    this.#state = 'held-elsewhere';
    const now = Date.now();
    if (now - this.#lastComplaint < COMPLAIN_EVERY_MS) return;
    this.#lastComplaint = now;
    this.#logger.error(
      { nodeId: this.nodeId },
      "another running storaged holds this daemon's node id (STORAGED_NODE_ID) on the shared catalog: it may settle this daemon's stores in progress as its own leftovers. " +
        'Set STORAGED_NODE_ID apart on each daemon and restart the wrong one; this daemon keeps trying to take the id back and settles its own rows only past the pending timeout meanwhile',
    );
  }

  #scheduleReconnect(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#reconnect();
    }, this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
  }

  async #reconnect(): Promise<void> {
    let client: Client;
    try {
      client = await this.#open();
    } catch {
      if (!this.#closed) this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#retryMs = RECONNECT_MIN_MS;
    const lost = this.#watch(client);
    // At once rather than at the first heartbeat: the id is unguarded until then.
    this.#beating = true;
    this.#takeAgain(client)
      .catch((err: Error) => lost(err))
      .finally(() => (this.#beating = false));
  }

  #stopBeating(): void {
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }
}
