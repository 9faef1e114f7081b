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

import { hostname } from 'node:os';
import type { Client, ClientConfig } from 'pg';
import { UnavailableError } from '../../protocol/errors';
import { ConfigError } from '../config/config-error';
import type { Logger } from '../logger';
import { KeptSession } from './kept-session';

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
/**
 * Lower than the photo cache's 10 s: /ready stays 503 until the id is held
 * again, so a daemon should not sit out seconds after PostgreSQL is back;
 * one connection attempt every 2 s costs nothing. (The session itself, its
 * heartbeat and server-side keepalives: kept-session.ts; the keepalives are
 * what let a host that vanished without closing its connection give its id
 * back within about 30 s, rather than the server's default two hours.)
 */
const RECONNECT_MAX_MS = 2_000;
/** While another daemon holds the id, the error is logged again this often (the lock is tried at every heartbeat). */
const COMPLAIN_EVERY_MS = 60_000;

/**
 * The start refused: another running daemon holds this node id. A setting to
 * change (hence a ConfigError), but the daemon exits 1 like other refused
 * starts, not 78: the service manager keeps retrying, so a restart that
 * only waited for PostgreSQL to drop a dead host's session goes through.
 */
export class NodeIdInUseError extends ConfigError {
  readonly code = 'NODE_ID_IN_USE';
  readonly nodeId: string;
  /** The session holding the id as PostgreSQL showed it (holderOf), or null when it could not be seen. */
  readonly holder: string | null;
  constructor(nodeId: string, holder: string | null) {
    super(
      'STORAGED_NODE_ID',
      `node id '${nodeId}' is in use by another running storaged on this PostgreSQL catalog ` +
        `(${holder === null ? "the session holding the id's lock could not be seen: it may have just ended" : `the id's lock is held by ${holder}`}); ` +
        "starting under it would settle that daemon's stores in progress as this one's leftovers. " +
        'Set STORAGED_NODE_ID apart: each running daemon needs its own (two on one host too)',
    );
    this.name = 'NodeIdInUseError';
    this.nodeId = nodeId;
    this.holder = holder;
  }
}

/**
 * The lock session's name in pg_stat_activity, where holderOf (run by a
 * daemon refused the id) and operators read it: which process on which host.
 * Nothing secret. PostgreSQL keeps the first 63 bytes, so the host comes
 * before the node id (which the refused daemon knows anyway).
 */
export function lockSessionName(nodeId: string): string {
  return `storaged node lock: pid ${process.pid} on ${hostname()}, node ${nodeId}`;
}

/**
 * The session holding node id $2's lock, as far as this database user may
 * see it (another role's address and start time are hidden without
 * pg_read_all_stats). classid/objid are oids: the int4 keys as unsigned.
 */
const HOLDER = `
  SELECT l.pid, a.application_name, host(a.client_addr) AS client_addr,
         to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
    FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ($1::int4)::oid AND l.objid = hashtext($2)::oid
     AND l.pid <> pg_backend_pid()
   LIMIT 1`;

/** Who holds `nodeId`, for the refusal and the log: best effort, null if it cannot be seen (or the query fails). */
export async function holderOf(client: Client, nodeId: string): Promise<string | null> {
  try {
    const { rows } = await client.query<{ pid: number; application_name: string | null; client_addr: string | null; since: string | null }>(HOLDER, [NODE_LOCK_CLASS, nodeId]);
    const row = rows[0];
    if (row === undefined) return null;
    const name = row.application_name === null || row.application_name === '' ? 'a session with no application name' : `'${row.application_name}'`;
    return (
      `${name} (PostgreSQL backend ${row.pid})` +
      (row.client_addr === null ? '' : ` from ${row.client_addr}`) +
      (row.since === null ? '' : `, connected since ${row.since}`)
    );
  } catch {
    return null;
  }
}

export type NodeLockState = 'held' | 'held-elsewhere' | 'disconnected';

export class NodeLock {
  readonly nodeId: string;
  readonly #logger: Logger;
  readonly #session: KeptSession;
  #state: NodeLockState = 'disconnected';
  #lastComplaint = 0;

  private constructor(nodeId: string, config: ClientConfig, logger: Logger) {
    this.nodeId = nodeId;
    this.#logger = logger;
    this.#session = new KeptSession({
      config,
      name: lockSessionName(nodeId),
      maxRetryMs: RECONNECT_MAX_MS,
      logger,
      // The first session takes the id or refuses the start; a later one (the first was lost) takes it again at once: it is unguarded until then.
      ready: (client, first) => (first ? this.#take(client) : this.#takeAgain(client)),
      // While held, a plain query finds a cut; while another holds it, the lock is tried again.
      beat: (client) => (this.#state === 'held' ? client.query('SELECT 1').then(() => undefined) : this.#takeAgain(client)),
      lost: (err, retryInMs) => {
        this.#state = 'disconnected';
        this.#logger.warn(
          { nodeId: this.nodeId, err: err && { message: err.message }, retryInMs },
          "lost the catalog connection holding this daemon's node id; taking it again once PostgreSQL answers (until then its own rows are settled only past the pending timeout)",
        );
      },
    });
  }

  /** Takes the id's lock, or throws NodeIdInUseError (an outage: pg's error, for the caller to map). */
  static async take(nodeId: string, config: ClientConfig, logger: Logger): Promise<NodeLock> {
    const lock = new NodeLock(nodeId, config, logger);
    await lock.#session.start();
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
    this.#state = 'disconnected';
    await this.#session.close();
  }

  /** At start: the id, within the grace a just-killed predecessor needs to be seen gone; else NodeIdInUseError. */
  async #take(client: Client): Promise<void> {
    const deadline = Date.now() + START_GRACE_MS;
    while (!(await this.#tryTake(client))) {
      if (Date.now() >= deadline) throw new NodeIdInUseError(this.nodeId, await holderOf(client, this.nodeId));
      await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
    }
    this.#state = 'held';
  }

  async #tryTake(client: Client): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean }>(TAKE, [NODE_LOCK_CLASS, this.nodeId]);
    return rows[0]!.locked;
  }

  async #takeAgain(client: Client): Promise<void> {
    const got = await this.#tryTake(client);
    if (!this.#session.current(client)) {
      // Lost or closed meanwhile: a lock just taken goes with the session that end() closes.
      return;
    }
    if (got) {
      if (this.#state !== 'held') this.#logger.info({ nodeId: this.nodeId }, 'holding this daemon\'s node id again');
      this.#state = 'held';
      this.#lastComplaint = 0;
      return;
    }
    const now = Date.now();
    if (now - this.#lastComplaint < COMPLAIN_EVERY_MS) {
      this.#state = 'held-elsewhere';
      return;
    }
    // Looked up before the state changes, so that whoever sees /ready say so finds the log line already written.
    const holder = await holderOf(client, this.nodeId);
    if (!this.#session.current(client)) return;
    this.#state = 'held-elsewhere';
    this.#lastComplaint = now;
    this.#logger.error(
      { nodeId: this.nodeId, holder },
      "another running storaged holds this daemon's node id (STORAGED_NODE_ID) on the shared catalog: it may settle this daemon's stores in progress as its own leftovers. " +
        'Set STORAGED_NODE_ID apart on each daemon and restart the wrong one; this daemon keeps trying to take the id back and settles its own rows only past the pending timeout meanwhile',
    );
  }
}
