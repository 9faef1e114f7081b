// The photo catalog on PostgreSQL, the engine for many hosts sharing one
// catalog (README "Many hosts"). Same rows, states and answers as the SQLite
// catalog (catalog.ts): the SQL differs, the rules are shared modules
// (metadata-patch, processing-transitions, search-query, cursor,
// idempotency-keys). Writes go through PgWriter (one transaction per tick);
// reads go straight to the pool.
//
// getPhoto keeps a cache as on SQLite, kept coherent across daemons by
// LISTEN/NOTIFY (shared-photo-cache.ts): every write that changes or hides a
// committed photo notifies its id in its own transaction, and every daemon
// evicts it. While the notification connection is down the cache is off and
// every getPhoto is one indexed read.

import { hostname } from 'node:os';
import { Pool, types, type PoolClient, type PoolConfig } from 'pg';
import { ClosedError, NotFoundError } from '../../protocol/errors';
import type { Photo, PhotoPage, ProcessingStatus, SearchResult } from '../../protocol/types';
import type { Logger } from '../logger';
import { DEFAULT_IDEMPOTENCY_WINDOW_MS, KeyTakenError, keyRecordOf, type CommittedRow, type KeyRecord, type StoredResult } from '../db/idempotency-keys';
import { parseMetadataPatch, PATCH_FIELDS, type PatchValues } from '../db/metadata-patch';
import type { AdoptedRow, CatalogStats, PhotoCatalog, RecoveredCommit, StaleRow } from '../db/photo-catalog';
import { heapBytes } from '../db/photo-bytes';
import { PHOTO_COLUMNS, PHOTO_RETURNING, toPhoto, type NewPhotoRow, type PhotoRecord, type RowState } from '../db/photo-row';
import { assertTransition, isFinished } from '../db/processing-transitions';
import { parseSearchQuery, parseUserPhotosQuery } from '../db/search-query';
import { DEFAULT_PHOTO_CACHE_SIZE } from '../db/catalog';
import { photoIdOfKey } from '../db/object-key';
import { catalogError, isStatementTimeout, retryingEndedConnections } from './pg-errors';
import { DEFAULT_SEARCH_TIMEOUT_MS, searchTooLong } from '../search-threads/search-threads';
import { PgWriter } from './pg-writer';
import { PHOTO_CHANNEL, SharedPhotoCache } from './shared-photo-cache';
import { applyPgMigrations } from './migrations';
import { NodeLock } from './node-lock';
import { photoSearchWords } from './search-words';
import { runPgSearch } from './photo-search';
import { searchResult, userPhotosPage } from '../db/search-page';

export interface PostgresCatalogOptions {
  /** postgres://user:password@host:port/db?sslmode=… (STORAGED_CATALOG_URL); never logged. */
  url: string;
  /** Connections per daemon (STORAGED_CATALOG_POOL). */
  poolSize?: number;
  logger: Logger;
  /**
   * STORAGED_NODE_ID: recorded on the rows this daemon leaves pending, and
   * held (node-lock.ts) while the catalog is open: open refuses an id that
   * another open catalog holds (NodeIdInUseError).
   */
  nodeId?: string;
  idempotencyWindowMs?: number;
  /** Committed photos kept in memory for getPhoto; 0 turns the cache off. */
  photoCacheSize?: number;
  /** Bound on every statement and on waiting for a connection: an outage is UNAVAILABLE within this, never a hang. */
  timeoutMs?: number;
  /**
   * STORAGED_SEARCH_TIMEOUT_MS: bound on each statement of a search or user
   * listing, in place of `timeoutMs`; past it the search is answered
   * VALIDATION ("narrow it"), as on SQLite, not UNAVAILABLE.
   */
  searchTimeoutMs?: number;
  migrationsDir?: string;
  /** This host's clock, ms since the epoch (Date.now); tests give one that is off, as a host's may be. */
  clock?: () => number;
}

export const DEFAULT_CATALOG_POOL = 10;
export const DEFAULT_CATALOG_TIMEOUT_MS = 5_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * int8 columns (size, width, height, duration, seq, counts) as numbers, as
 * SQLite hands them out: sizes stay far below 2^53. Everything else is text
 * in the schema (timestamps, JSON) and arrives as SQLite's would.
 */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === types.builtins.INT8) return (value: string) => Number(value);
    return types.getTypeParser(oid, format as 'text');
  },
};

/**
 * PostgreSQL's clock as the catalog's timestamps are written (ISO 8601, UTC,
 * milliseconds). A row's state_changed_at is what recovery ages it by, and
 * recovery on one host ages rows that other hosts wrote: on the hosts' own
 * clocks, one whose clock ran minutes ahead took another's store in progress
 * for abandoned (or one behind, a dead host's rows for young). On the
 * database's clock they agree whatever the hosts' clocks say.
 */
const DB_NOW = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** DB_NOW less the milliseconds in parameter `param`. */
const dbAgo = (param: string) =>
  `to_char((clock_timestamp() - ${param}::float8 * interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** pg_advisory_lock(int, int) keys: storaged's class (the ASCII of 'stor'), then one per kind of work. */
const ADVISORY_CLASS = 0x73746f72;
const LOCKS = { sweep: 1 } as const;

const SQL = {
  insertPending: `INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type,
      bucket, s3_key, size, checksum, metadata, state, state_changed_at, uploaded_at, created_at, updated_at, idempotency_key, node_id, search_words)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', ${DB_NOW}, coalesce($13, $12), $12, $12, $14, $15, $16::tsvector)`,
  touchSession: 'UPDATE catalog_sessions SET last_write_at = $1 WHERE started_at = $2 AND last_write_at < $1',
  commitPending: `UPDATE photos SET state = 'committed', state_changed_at = $2, updated_at = $2,
      size = coalesce($3, size), checksum = coalesce($4, checksum)
    WHERE id = $1 AND state = 'pending' RETURNING ${PHOTO_RETURNING}, idempotency_key`,
  claimKey: `INSERT INTO idempotency_keys (client_id, key, photo_id, fingerprint, result, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (client_id, key) DO UPDATE SET photo_id = excluded.photo_id, fingerprint = excluded.fingerprint,
      result = excluded.result, created_at = excluded.created_at
    WHERE idempotency_keys.created_at < $7`,
  pruneKeys: 'DELETE FROM idempotency_keys WHERE created_at < $1',
  lookupKey: `SELECT photo_id, fingerprint, result, created_at FROM idempotency_keys
    WHERE client_id = $1 AND key = $2 AND created_at >= $3`,
  adopt: `INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type,
      bucket, s3_key, size, checksum, metadata, state, state_changed_at, uploaded_at, created_at, updated_at, search_words)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{}', 'committed', $11, $12, $12, $11, $13::tsvector)
    ON CONFLICT (id) DO NOTHING`,
  discardPending: "DELETE FROM photos WHERE id = $1 AND state = 'pending'",
  abandonPending: `UPDATE photos SET state = 'deleting', state_changed_at = ${DB_NOW} WHERE id = $1 AND state = 'pending'`,
  forget: 'DELETE FROM photos WHERE id = ANY($1::text[])',
  markDeleting: `UPDATE photos SET state = 'deleting', state_changed_at = ${DB_NOW}, updated_at = $3
    WHERE id = $1 AND client_id = $2 AND state = 'committed' RETURNING bucket, s3_key`,
  // Left as it is: its state_changed_at still tells recovery how long the delete has waited.
  stillDeleting: "SELECT bucket, s3_key FROM photos WHERE id = $1 AND client_id = $2 AND state = 'deleting'",
  deleteRow: "DELETE FROM photos WHERE id = $1 AND state = 'deleting'",
  // FOR UPDATE: no other daemon's write slips between the check of the transition and the update.
  processingStatus: "SELECT processing_status, mime_type FROM photos WHERE id = $1 AND client_id = $2 AND state = 'committed' FOR UPDATE",
  photo: `SELECT ${PHOTO_COLUMNS} FROM photos p WHERE p.id = $1 AND p.client_id = $2 AND p.state = 'committed'`,
  // Everyone's rows past the timeout, and this node's own past its own cutoff (at start: all of them); ages in ms, on DB_NOW.
  staleRows: `SELECT id, bucket, s3_key, size, checksum, state FROM photos
    WHERE state <> 'committed' AND state = $1 AND (state_changed_at < ${dbAgo('$2')} OR (node_id = $4 AND state_changed_at < ${dbAgo('$5')}))
    ORDER BY state_changed_at LIMIT $3`,
  countStale: `SELECT count(*)::int AS n FROM photos WHERE state <> 'committed' AND state = $1 AND state_changed_at < ${dbAgo('$2')}`,
  knownBlob: 'SELECT 1 FROM photos WHERE id = $1 AND bucket = $2 AND s3_key = $3',
  photoIn: 'SELECT 1 FROM photos WHERE id = $1 AND bucket = $2',
  liveAt: 'SELECT 1 FROM catalog_sessions WHERE started_at <= $1 AND last_write_at >= $1 LIMIT 1',
  anyRow: 'SELECT 1 FROM photos LIMIT 1',
  committedAfter: `SELECT seq, id, bucket, s3_key, size, checksum, state FROM photos
    WHERE seq > $1 AND state = 'committed' ORDER BY seq LIMIT $2`,
  countByState: 'SELECT state, count(*)::int AS n FROM photos GROUP BY state',
  bucketTotals: "SELECT bucket, count(*)::bigint AS photos, coalesce(sum(size), 0)::bigint AS bytes FROM photos WHERE state = 'committed' GROUP BY bucket ORDER BY bucket",
};

/**
 * The UPDATE of a metadata patch with positional parameters; columns only
 * from PATCH_FIELDS' whitelist. A new filename brings its search words
 * (`searchWords`, computed from it and the row's MIME type).
 */
function patchUpdate(values: PatchValues, id: string, clientId: string, at: string, searchWords: string | null): { text: string; values: unknown[] } {
  const params: unknown[] = [id, clientId, at];
  const sets: string[] = [];
  for (const field of PATCH_FIELDS) {
    if (values[field] === undefined) continue;
    params.push(values[field]);
    sets.push(`${field} = $${params.length}`);
  }
  if (searchWords !== null) {
    params.push(searchWords);
    sets.push(`search_words = $${params.length}::tsvector`);
  }
  sets.push('updated_at = $3');
  return {
    text: `UPDATE photos SET ${sets.join(', ')} WHERE id = $1 AND client_id = $2 AND state = 'committed' RETURNING ${PHOTO_RETURNING}`,
    values: params,
  };
}

export class PostgresCatalog implements PhotoCatalog {
  readonly engine = 'postgres' as const;
  readonly catalogId: string;
  readonly nodeId: string;
  readonly #pool: Pool;
  readonly #writer: PgWriter;
  readonly #windowMs: number;
  readonly #session: string;
  readonly #cache: SharedPhotoCache;
  readonly #nodeLock: NodeLock;
  readonly #logger: Logger;
  readonly #searchTimeoutMs: number;
  /** The search bound, when the pool's statement_timeout is another (photo-search.ts); undefined when it is the same. */
  readonly #searchOwnBound: number | undefined;
  #searchesTimedOut = 0;
  readonly #clock: () => number;
  #lastPrune = 0;
  #closing: Promise<void> | null = null;

  private constructor(pool: Pool, cache: SharedPhotoCache, nodeLock: NodeLock, catalogId: string, session: string, options: PostgresCatalogOptions) {
    this.#pool = pool;
    this.#cache = cache;
    this.#nodeLock = nodeLock;
    this.catalogId = catalogId;
    this.#session = session;
    this.nodeId = nodeLock.nodeId;
    this.#windowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.#writer = new PgWriter(pool, options.logger);
    this.#logger = options.logger;
    this.#searchTimeoutMs = options.searchTimeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
    this.#clock = options.clock ?? Date.now;
    const poolBound = options.timeoutMs ?? DEFAULT_CATALOG_TIMEOUT_MS;
    this.#searchOwnBound = this.#searchTimeoutMs === poolBound ? undefined : this.#searchTimeoutMs;
  }

  /**
   * Takes the node id (refused with NodeIdInUseError while another running
   * daemon holds it: before anything else, so a refused start changes
   * nothing), connects, migrates (once across daemons, under an advisory
   * lock) and records this run.
   */
  static async open(options: PostgresCatalogOptions): Promise<PostgresCatalog> {
    const config = poolConfig(options);
    let nodeLock: NodeLock;
    try {
      nodeLock = await NodeLock.take(options.nodeId ?? hostname(), config, options.logger);
    } catch (err) {
      throw catalogError(err);
    }
    const pool = new Pool(config);
    const cache = new SharedPhotoCache(options.photoCacheSize ?? DEFAULT_PHOTO_CACHE_SIZE, config, options.logger);
    // An idle connection that breaks (the server restarted) is dropped by the pool; without a listener it would crash the process.
    pool.on('error', (err) => options.logger.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'an idle catalog connection failed; the pool replaces it'));
    // pg-pool listens for errors only on idle connections. One checked out and between queries (a sweep's
    // lock held while it lists MinIO, a write batch between statements) that the server ends (57P01 on a
    // restart) emitted 'error' to no one, and the uncaught error took the daemon down. Its holder's next
    // query fails as an outage instead, and releasing it with that error drops it from the pool.
    pool.on('connect', (client) => {
      client.on('error', (err) => options.logger.debug({ err: { message: err.message, code: (err as { code?: string }).code } }, 'a catalog connection in use was lost'));
    });
    try {
      const { applied, version } = await applyPgMigrations(pool, ...(options.migrationsDir === undefined ? [] : [options.migrationsDir]));
      if (applied.length > 0) options.logger.info({ applied, version }, 'catalog schema migrated (PostgreSQL)');
      const { rows } = await pool.query<{ catalog_id: string }>('SELECT catalog_id FROM catalog_identity');
      const catalogId = rows[0]?.catalog_id;
      if (catalogId === undefined) throw new Error('catalog_identity is empty: the PostgreSQL catalog was not migrated');
      const session = new Date((options.clock ?? Date.now)()).toISOString();
      await pool.query('INSERT INTO catalog_sessions (started_at, last_write_at) VALUES ($1, $1) ON CONFLICT DO NOTHING', [session]);
      await cache.start();
      return new PostgresCatalog(pool, cache, nodeLock, catalogId, session, options);
    } catch (err) {
      await cache.close();
      await pool.end().catch(() => undefined);
      await nodeLock.close();
      throw catalogError(err);
    }
  }

  #now(): string {
    return new Date(this.#clock()).toISOString();
  }

  /** How far before this host's now a cutoff it was given lies: recovery's cutoffs become ages on the database's clock. */
  #ageOf(olderThan: string): number {
    return this.#clock() - Date.parse(olderThan);
  }

  #assertOpen(): void {
    if (this.#closing !== null) throw new ClosedError('the catalog is closed');
  }

  /**
   * A read, tried again on another connection when the one it was given had
   * already been ended by the server (a restart, a failover, an operator's
   * pg_terminate_backend): the pool learns of that only when the connection's
   * next event is read, so right after it every idle connection is a dead one.
   * A read changes nothing, so trying again is safe; each failed try drops
   * its connection from the pool. Timeouts are not tried again: that would
   * double the caller's wait on a server that does not answer.
   */
  async #read<T extends object>(text: string, values: unknown[]): Promise<T[]> {
    this.#assertOpen();
    try {
      return (await retryingEndedConnections(this.#pool, () => this.#pool.query<T>(text, values))).rows;
    } catch (err) {
      throw catalogError(err);
    }
  }

  insertPending(row: NewPhotoRow): Promise<void> {
    const at = this.#now();
    const values = [
      row.id, row.client_id, row.user_id, row.session_id, row.original_filename, row.mime_type,
      row.bucket, row.s3_key, row.size, row.checksum, JSON.stringify(row.metadata), at, row.uploaded_at ?? null,
      row.idempotency_key ?? null, this.nodeId, photoSearchWords(row.original_filename, row.mime_type),
    ];
    return this.#writer.submit(
      async (client) => {
        await client.query(SQL.insertPending, values);
        await client.query(SQL.touchSession, [at, this.#session]);
      },
      { durable: false },
    );
  }

  commitPending(id: string, final?: { size: number; checksum: string }): Promise<Photo> {
    const at = this.#now();
    return this.#writer.submit(async (client) => {
      const { rows } = await client.query<PhotoRecord & { idempotency_key: string | null }>(SQL.commitPending, [
        id, at, final?.size ?? null, final?.checksum ?? null,
      ]);
      const record = rows[0];
      if (record === undefined) throw new NotFoundError(`pending photo ${id} not found`);
      await this.#recordKey(client, record, at);
      return toPhoto(record);
    });
  }

  /** The SQLite catalog's IdempotencyKeys.recordCommit, in SQL of PostgreSQL: same claim rule, same record. */
  async #recordKey(client: PoolClient, row: CommittedRow, at: string): Promise<void> {
    const key = row.idempotency_key;
    if (key === null || key === undefined) return;
    const nowMs = Date.parse(at);
    const cutoff = new Date(nowMs - this.#windowMs).toISOString();
    const { fingerprint, result } = keyRecordOf(row);
    const claimed = await client.query(SQL.claimKey, [row.client_id, key, row.id, fingerprint, JSON.stringify(result), at, cutoff]);
    if (claimed.rowCount === 0) throw new KeyTakenError(key);
    if (nowMs - this.#lastPrune >= Math.min(PRUNE_EVERY_MS, this.#windowMs)) {
      this.#lastPrune = nowMs;
      await client.query(SQL.pruneKeys, [cutoff]);
    }
  }

  commitRecovered(id: string): Promise<RecoveredCommit> {
    return this.commitPending(id).then(
      () => 'committed' as const,
      (err: unknown) => {
        if (err instanceof KeyTakenError) return 'key-taken' as const;
        if (err instanceof NotFoundError) return 'settled' as const;
        throw err;
      },
    );
  }

  abandonPending(id: string): Promise<boolean> {
    return this.#writer.submit(async (client) => ((await client.query(SQL.abandonPending, [id])).rowCount ?? 0) > 0);
  }

  /**
   * Holds a session-level pg_try_advisory_lock on a connection of its own for
   * as long as `work` runs; another daemon asking meanwhile skips. The lock
   * goes with the connection if this daemon dies, so a sweep is never left
   * locked by a host that is gone.
   */
  async runAlone<T>(name: 'sweep', work: () => Promise<T>): Promise<T | undefined> {
    this.#assertOpen();
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw catalogError(err);
    }
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [ADVISORY_CLASS, LOCKS[name]]);
      if (!rows[0]!.locked) return undefined;
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_CLASS, LOCKS[name]]).catch((err: Error) => {
          broken = err;
        });
      }
    } catch (err) {
      broken ??= err instanceof Error ? err : undefined;
      throw catalogError(err);
    } finally {
      // A connection whose unlock failed is destroyed, which releases the lock server-side.
      client.release(broken);
    }
  }

  async storedUnderKey(clientId: string, key: string): Promise<KeyRecord | null> {
    const cutoff = new Date(this.#clock() - this.#windowMs).toISOString();
    const rows = await this.#read<{ photo_id: string; fingerprint: string; result: string; created_at: string }>(SQL.lookupKey, [clientId, key, cutoff]);
    const row = rows[0];
    if (row === undefined) return null;
    return { photoId: row.photo_id, fingerprint: row.fingerprint, result: JSON.parse(row.result) as StoredResult, createdAt: row.created_at };
  }

  pruneIdempotencyKeys(): Promise<number> {
    const cutoff = new Date(this.#clock() - this.#windowMs).toISOString();
    return this.#writer.submit(async (client) => (await client.query(SQL.pruneKeys, [cutoff])).rowCount ?? 0, { durable: false });
  }

  adoptRows(rows: readonly AdoptedRow[]): Promise<number> {
    const at = this.#now();
    return this.#writer.submit(async (client) => {
      let inserted = 0;
      for (const row of rows) {
        const result = await client.query(SQL.adopt, [
          row.id, row.client_id, row.user_id, row.session_id, row.original_filename, row.mime_type,
          row.bucket, row.s3_key, row.size, row.checksum, at, row.uploaded_at,
          photoSearchWords(row.original_filename, row.mime_type),
        ]);
        inserted += result.rowCount ?? 0;
      }
      return inserted;
    });
  }

  forgetRows(ids: readonly string[]): Promise<void> {
    return this.#changing(ids, async (client) => {
      await client.query(SQL.forget, [ids]);
    });
  }

  /**
   * A write that changes or hides committed photos: evicted here before it
   * runs and again once committed (a read in between may have cached the old
   * version), and on every other daemon by the NOTIFY sent in its transaction.
   */
  async #changing<T>(ids: readonly string[], op: (client: PoolClient) => Promise<T>): Promise<T> {
    for (const id of ids) this.#cache.evict(id);
    try {
      return await this.#writer.submit(async (client) => {
        const value = await op(client);
        for (const id of ids) await client.query('SELECT pg_notify($1, $2)', [PHOTO_CHANNEL, id]);
        return value;
      });
    } finally {
      for (const id of ids) this.#cache.evict(id);
    }
  }

  discardPending(id: string): Promise<void> {
    return this.#writer.submit(
      async (client) => {
        await client.query(SQL.discardPending, [id]);
      },
      { durable: false },
    );
  }

  markDeleting(clientId: string, id: string): Promise<{ bucket: string; s3_key: string }> {
    const at = this.#now();
    return this.#changing([id], async (client) => {
      const { rows } = await client.query<{ bucket: string; s3_key: string }>(SQL.markDeleting, [id, clientId, at]);
      const ref = rows[0] ?? (await client.query<{ bucket: string; s3_key: string }>(SQL.stillDeleting, [id, clientId])).rows[0];
      if (ref === undefined) throw new NotFoundError(`photo ${id} not found`);
      return ref;
    });
  }

  deleteRow(id: string): Promise<void> {
    return this.#writer.submit(
      async (client) => {
        await client.query(SQL.deleteRow, [id]);
      },
      { durable: false },
    );
  }

  async updateMetadata(clientId: string, id: string, patch: unknown): Promise<Photo> {
    const values = parseMetadataPatch(patch);
    return this.#changing([id], async (client) => {
      const { rows } = await client.query<{ processing_status: ProcessingStatus; mime_type: string }>(SQL.processingStatus, [id, clientId]);
      if (rows[0] === undefined) throw new NotFoundError(`photo ${id} not found`);
      const { processing_status: current, mime_type: mimeType } = rows[0];
      const at = this.#now();
      const next = values.processing_status as ProcessingStatus | undefined;
      const fields = { ...values };
      if (next !== undefined) {
        assertTransition(current, next);
        if (next === 'in_progress' && fields.processing_started_at === undefined) fields.processing_started_at = at;
        if (isFinished(next) && fields.processing_completed_at === undefined) fields.processing_completed_at = at;
      }
      const words = typeof fields.original_filename === 'string' ? photoSearchWords(fields.original_filename, mimeType) : null;
      const update = patchUpdate(fields, id, clientId, at, words);
      const updated = await client.query<PhotoRecord>(update.text, update.values);
      return toPhoto(updated.rows[0]!);
    });
  }

  /** From the cache while it is coherent; otherwise undefined (ask getPhoto). */
  photoNow(clientId: string, id: string): Photo | null | undefined {
    this.#assertOpen();
    const cached = this.#cache.get(id);
    // A photo never changes client, so a cached entry of another client means "not yours".
    if (cached === undefined) return undefined;
    return cached.client_id === clientId ? cached : null;
  }

  async getPhoto(clientId: string, id: string): Promise<Photo | null> {
    const started = this.#cache.readStarted();
    const rows = await this.#read<PhotoRecord>(SQL.photo, [id, clientId]);
    if (rows[0] === undefined) return null;
    const photo = toPhoto(rows[0]);
    this.#cache.set(photo, started, heapBytes(rows[0]));
    return photo;
  }

  async search(clientId: string, query: unknown): Promise<SearchResult> {
    this.#assertOpen();
    const started = performance.now();
    const plan = parseSearchQuery(query);
    return searchResult(await this.#search(clientId, plan), started);
  }

  async userPhotos(clientId: string, userId: unknown, options: unknown): Promise<PhotoPage> {
    this.#assertOpen();
    return userPhotosPage(await this.#search(clientId, parseUserPhotosQuery(userId, options)));
  }

  /** Searches PostgreSQL stopped at their bound (the search threads count SQLite's). */
  get searchesTimedOut(): number {
    return this.#searchesTimedOut;
  }

  async #search(clientId: string, plan: Parameters<typeof runPgSearch>[2]) {
    const started = performance.now();
    try {
      // A search only reads: tried again on another connection, as #read does, when the server had ended its own.
      return await retryingEndedConnections(this.#pool, () => runPgSearch(this.#pool, clientId, plan, this.#searchOwnBound));
    } catch (err) {
      // Only the search bound is in force on its statements (its own, or the pool's when they are equal): the query's cost, not an outage.
      if (isStatementTimeout(err, performance.now() - started >= this.#searchTimeoutMs)) {
        this.#searchesTimedOut++;
        this.#logger.warn({ clientId, timeoutMs: this.#searchTimeoutMs }, 'search stopped at its time bound');
        throw searchTooLong(this.#searchTimeoutMs);
      }
      throw catalogError(err);
    }
  }

  /**
   * This node's own rows get their own cutoff (`own`) only while this daemon
   * holds its node id: without it (its lock's connection lost, or another
   * daemon running under the same id) a young row of the id may be that
   * other daemon's store in progress, so it waits for the timeout as
   * everyone's does.
   */
  async staleRows(state: 'pending' | 'deleting', olderThan: string, limit: number, own?: { olderThan: string }): Promise<StaleRow[]> {
    const ownCutoff = own !== undefined && this.#nodeLock.held ? own.olderThan : olderThan;
    return this.#read<StaleRow>(SQL.staleRows, [state, this.#ageOf(olderThan), limit, this.nodeId, this.#ageOf(ownCutoff)]);
  }

  /** Whether this daemon holds its node id now (node-lock.ts). */
  get holdsNodeId(): boolean {
    return this.#nodeLock.held;
  }

  /** For /ready: resolves while the node id is held, else UNAVAILABLE saying why. */
  checkNodeId(): Promise<void> {
    return this.#nodeLock.check();
  }

  async countStaleRows(state: 'pending' | 'deleting', olderThan: string): Promise<number> {
    return (await this.#read<{ n: number }>(SQL.countStale, [state, this.#ageOf(olderThan)]))[0]!.n;
  }

  async isKnownBlob(bucket: string, key: string): Promise<boolean> {
    const id = photoIdOfKey(key);
    return id !== null && (await this.#read(SQL.knownBlob, [id, bucket, key])).length > 0;
  }

  /** PostgreSQL keeps updates itself: no daemon of it owes a record. */
  async countOwedRecords(): Promise<number> {
    return 0;
  }

  async hasPhotoIn(bucket: string, id: string): Promise<boolean> {
    return (await this.#read(SQL.photoIn, [id, bucket])).length > 0;
  }

  /** No update records on PostgreSQL: a record left from an SQLite past is not compared with anything. */
  async recordedRow(): Promise<null> {
    return null;
  }

  async wasLiveAt(at: string): Promise<boolean> {
    return (await this.#read(SQL.liveAt, [at])).length > 0;
  }

  async isEmpty(): Promise<boolean> {
    return (await this.#read(SQL.anyRow, [])).length === 0;
  }

  async committedRowsAfter(seq: number, limit: number): Promise<Array<StaleRow & { seq: number }>> {
    return this.#read<StaleRow & { seq: number }>(SQL.committedAfter, [seq, limit]);
  }

  async countByState(): Promise<Record<RowState, number>> {
    const counts: Record<RowState, number> = { pending: 0, committed: 0, deleting: 0 };
    for (const { state, n } of await this.#read<{ state: RowState; n: number }>(SQL.countByState, [])) counts[state] = n;
    return counts;
  }

  /** Resolves once PostgreSQL answers a query on a pooled connection; UNAVAILABLE within the timeout otherwise. */
  async ping(): Promise<void> {
    await this.#read('SELECT 1', []);
  }

  writerStats(): CatalogStats {
    return this.#writer.stats();
  }

  /** bigint counts come back as strings; a bucket's bytes stay well inside 2^53. */
  async bucketTotals(): Promise<{ bucket: string; photos: number; bytes: number }[]> {
    const rows = await this.#read<{ bucket: string; photos: string; bytes: string }>(SQL.bucketTotals, []);
    return rows.map((r) => ({ bucket: r.bucket, photos: Number(r.photos), bytes: Number(r.bytes) }));
  }

  /** The pool, for the pieces that need PostgreSQL itself (advisory locks of the sweeps). */
  get pool(): Pool {
    return this.#pool;
  }

  close(): Promise<void> {
    this.#closing ??= this.#writer
      .close()
      .finally(() => this.#cache.close())
      .finally(() => this.#pool.end())
      // Last: the id is given back only once nothing of this daemon writes under it.
      .finally(() => this.#nodeLock.close());
    return this.#closing;
  }
}

function poolConfig(options: PostgresCatalogOptions): PoolConfig {
  const timeout = options.timeoutMs ?? DEFAULT_CATALOG_TIMEOUT_MS;
  return {
    // sslmode and the rest of libpq's URL options are read from the URL by pg-connection-string.
    connectionString: options.url,
    max: options.poolSize ?? DEFAULT_CATALOG_POOL,
    connectionTimeoutMillis: timeout,
    // Server side and client side: a statement on a dead server never hangs a call.
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'storaged',
    types: TYPES,
  };
}
