// The photo catalog on the embedded SQLite file, one of the two engines
// behind PhotoCatalog (photo-catalog.ts): every row lives here, in the states
// of DESIGN.md "Consistency" (pending → committed → deleting). Writes go
// through the WriterActor; reads use a separate read-only connection and only
// ever show committed rows of the calling client. Reads are synchronous
// better-sqlite3 calls wrapped in resolved promises, and photoNow answers
// getPhoto without one, so the interface costs a hot read nothing.

import { ClosedError, NotFoundError } from '../../protocol/errors';
import type { Photo, PhotoPage, ProcessingStatus, SearchResult } from '../../protocol/types';
import type { Logger } from '../logger';
import { parseMetadataPatch, patchUpdateSql, PATCH_FIELDS, type PatchValues } from './metadata-patch';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from './migrations';
import { openReader, openWriter, setAsideOrphanedWal, type Db } from './open-database';
import { PHOTO_COLUMNS, PHOTO_RETURNING, recordOf, toPhoto, type NewPhotoRow, type PhotoRecord } from './photo-row';
import { runSearch } from './photo-search';
import { photosOf, searchResult, userPhotosPage, type SearchPage } from './search-page';
import { assertTransition, isFinished } from './processing-transitions';
import { parseSearchQuery, parseUserPhotosQuery, type SearchPlan } from './search-query';
import { CatalogQueries } from './catalog-queries';
import { PhotoCache } from './photo-cache';
import { heapBytes } from './photo-bytes';
import { PhotoWords } from './photo-words';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, CheckpointScheduler, type CheckpointRunner } from './checkpoint-scheduler';
import { StatementCache } from './statement-cache';
import { SearchThreads } from '../search-threads/search-threads';
import { WriterActor, type WriterStats } from './writer-actor';
import { IdempotencyKeys, KeyTakenError, type KeyRecord } from './idempotency-keys';
import type { AdoptedRow, PhotoCatalog, RecoveredCommit } from './photo-catalog';

export type { NewPhotoRow } from './photo-row';

export interface CatalogOptions {
  path: string;
  migrationsDir?: string;
  logger: Logger;
  maxBatch?: number;
  /** Committed photos kept in memory for getPhoto; 0 turns the cache off. */
  photoCacheSize?: number;
  /** Bytes the photo cache may hold, as photo-bytes.ts charges them (DEFAULT_PHOTO_CACHE_BYTES). */
  photoCacheBytes?: number;
  /**
   * Runs WAL checkpoints off the event loop (the daemon passes its worker
   * pool). Without it SQLite's auto-checkpoint runs inside COMMITs as usual.
   */
  checkpoint?: CheckpointRunner;
  /** How long stores' idempotency keys are remembered (STORAGED_IDEMPOTENCY_WINDOW_S); 24 h by default. */
  idempotencyWindowMs?: number;
  /**
   * Runs searches and user listings on threads of their own, each bounded in
   * time (the daemon's STORAGED_SEARCH_THREADS, STORAGED_SEARCH_TIMEOUT_MS).
   * Without it they run on the calling thread, unbounded (tools, tests).
   */
  searchThreads?: { threads: number; timeoutMs: number; maxWaiting?: number; nice?: number; idleMs?: number };
}

/** ~10k photos is a few MB and covers the hot set of most deployments. */
export const DEFAULT_PHOTO_CACHE_SIZE = 10_000;

export type { StaleRow } from './catalog-queries';

const now = () => new Date().toISOString();

function prepareWrites(db: Db) {
  return {
    insertPending: db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type,
        bucket, s3_key, size, checksum, metadata, state, state_changed_at, uploaded_at, created_at, updated_at, idempotency_key)
      VALUES (@id, @client_id, @user_id, @session_id, @original_filename, @mime_type,
        @bucket, @s3_key, @size, @checksum, @metadata, 'pending', @now, coalesce(@uploaded_at, @now), @now, @now, @idempotency_key)`),
    // The run's interval grows with each pending insert, in the same transaction (see 002_catalog_lineage.sql).
    touchSession: db.prepare('UPDATE catalog_sessions SET last_write_at = @now WHERE started_at = @session AND last_write_at < @now'),
    commitPending: db.prepare(`UPDATE photos SET state = 'committed', state_changed_at = @now, updated_at = @now,
        size = coalesce(@size, size), checksum = coalesce(@checksum, checksum)
      WHERE id = @id AND state = 'pending' RETURNING ${PHOTO_RETURNING}, idempotency_key`),
    // A photo brought back from its object's identity (rebuild, restore): committed at once, or left alone when its row exists.
    adopt: db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type,
        bucket, s3_key, size, checksum, metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
      VALUES (@id, @client_id, @user_id, @session_id, @original_filename, @mime_type,
        @bucket, @s3_key, @size, @checksum, '{}', 'committed', @now, @uploaded_at, @uploaded_at, @now)
      ON CONFLICT (id) DO NOTHING`),
    discardPending: db.prepare("DELETE FROM photos WHERE id = ? AND state = 'pending'"),
    abandonPending: db.prepare("UPDATE photos SET state = 'deleting', state_changed_at = @now WHERE id = @id AND state = 'pending'"),
    forget: db.prepare('DELETE FROM photos WHERE id = ?'),
    markDeleting: db.prepare(`UPDATE photos SET state = 'deleting', state_changed_at = @now, updated_at = @now
      WHERE id = @id AND client_id = @client_id AND state = 'committed' RETURNING bucket, s3_key`),
    // Left as it is: its state_changed_at still tells recovery how long the delete has waited.
    stillDeleting: db.prepare("SELECT bucket, s3_key FROM photos WHERE id = @id AND client_id = @client_id AND state = 'deleting'"),
    deleteRow: db.prepare("DELETE FROM photos WHERE id = ? AND state = 'deleting'"),
    recordWritten: db.prepare('UPDATE photos SET record_owed = 0 WHERE id = ? AND updated_at = ? AND record_owed = 1'),
    oweRecord: db.prepare("UPDATE photos SET record_owed = 1 WHERE id = ? AND state = 'committed'"),
    processingStatus: db
      .prepare("SELECT processing_status FROM photos WHERE id = ? AND client_id = ? AND state = 'committed'")
      .pluck(),
  };
}

function prepareReads(db: Db) {
  return {
    // Raw rows built by recordOf: 5.3 µs a read against 7.9 µs in object mode (photo-row.ts, 2026-12-04).
    photo: db.prepare(`SELECT ${PHOTO_COLUMNS} FROM photos p WHERE p.id = ? AND p.client_id = ? AND p.state = 'committed'`).raw(true),
    bucketTotals: db.prepare('SELECT bucket, photos, bytes FROM bucket_totals WHERE photos > 0 ORDER BY bucket'),
    owingRecords: db.prepare("SELECT id, client_id FROM photos WHERE record_owed = 1 AND state = 'committed' ORDER BY seq LIMIT ?"),
  };
}

/** Records this run in catalog_sessions; returns its key. Two runs in one millisecond share a row, harmlessly. */
function startSession(db: Db): string {
  const at = now();
  db.prepare('INSERT INTO catalog_sessions (started_at, last_write_at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(at, at);
  return at;
}

export class Catalog extends CatalogQueries implements PhotoCatalog {
  readonly engine = 'sqlite' as const;
  readonly #writer: WriterActor;
  readonly #reader: Db;
  readonly #writes: ReturnType<typeof prepareWrites>;
  readonly #reads: ReturnType<typeof prepareReads>;
  readonly #patchStatements: StatementCache;
  readonly #searchStatements: StatementCache;
  readonly #cache: PhotoCache;
  readonly #words: PhotoWords;
  readonly #checkpoints: CheckpointScheduler | null = null;
  readonly #keys: IdempotencyKeys;
  /** Where searches run when the catalog was opened with `searchThreads`; null: on the calling thread. */
  readonly searchThreads: SearchThreads | null;
  /** started_at of this run's catalog_sessions row. */
  readonly #session: string;
  #closing: Promise<void> | null = null;

  private constructor(writerDb: Db, reader: Db, options: CatalogOptions) {
    super(reader);
    this.#cache = new PhotoCache(options.photoCacheSize ?? DEFAULT_PHOTO_CACHE_SIZE, options.photoCacheBytes);
    this.#words = new PhotoWords(writerDb);
    this.#writes = prepareWrites(writerDb);
    this.#patchStatements = new StatementCache(writerDb);
    this.#writer = new WriterActor(writerDb, {
      logger: options.logger,
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
    this.#reader = reader;
    this.#reads = prepareReads(reader);
    this.#session = startSession(writerDb);
    this.#searchStatements = new StatementCache(reader);
    this.#keys = new IdempotencyKeys(writerDb, reader, options.idempotencyWindowMs);
    const threads = options.searchThreads;
    this.searchThreads = threads === undefined ? null : new SearchThreads({ path: options.path, logger: options.logger, ...threads });
    if (options.checkpoint !== undefined) {
      writerDb.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
      const writer = this.#writer;
      this.#checkpoints = new CheckpointScheduler(options.path, options.checkpoint, () => writer.stats().transactions, options.logger);
    }
  }

  /** Opens the database file, migrating its schema, or throws if the file's schema is newer than this code. */
  static open(options: CatalogOptions): Catalog {
    const orphaned = setAsideOrphanedWal(options.path);
    if (orphaned !== null) {
      options.logger.warn(
        { path: options.path, movedAside: orphaned },
        'the database file is gone but its WAL was left: moved aside rather than replayed into a new catalog; if the database was lost, stop the daemon and run `storaged restore` or `storaged rebuild`',
      );
    }
    const writerDb = openWriter(options.path);
    let reader: Db | null = null;
    try {
      const { applied, version } = applyMigrations(writerDb, options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
      if (applied.length > 0) options.logger.info({ applied, version, path: options.path }, 'database schema migrated');
      const indexed = PhotoWords.backfill(writerDb);
      if (indexed > 0) options.logger.info({ photos: indexed, path: options.path }, 'search words indexed for photos committed before them');
      reader = openReader(options.path);
      return new Catalog(writerDb, reader, options);
    } catch (err) {
      reader?.close();
      writerDb.close();
      throw err;
    }
  }

  insertPending(row: NewPhotoRow): Promise<void> {
    const params = {
      ...row,
      uploaded_at: row.uploaded_at ?? null,
      idempotency_key: row.idempotency_key ?? null,
      metadata: JSON.stringify(row.metadata),
      now: now(),
      session: this.#session,
    };
    // Not fsynced on its own: a pending row lost to a power cut only leaves an
    // unacknowledged blob, which the orphan sweep removes; commitPending's
    // synced COMMIT makes this row durable along with everything before it.
    return this.#writer.submit(
      () => {
        this.#writes.insertPending.run(params);
        this.#writes.touchSession.run(params);
      },
      { durable: false },
    );
  }

  /**
   * Makes a pending photo visible. `final` gives its size and digest when the
   * row was inserted before the body had fully arrived (a store whose upload
   * overlapped the transfer); until then the row held the bytes seen so far
   * and a placeholder digest, and pending rows are never shown.
   *
   * A row stored with an idempotency key records the key in the same
   * transaction; when another photo already holds the key, nothing is
   * committed and the promise rejects with KeyTakenError.
   */
  commitPending(id: string, final?: { size: number; checksum: string }): Promise<Photo> {
    const params = { id, now: now(), size: final?.size ?? null, checksum: final?.checksum ?? null };
    return this.#writer.submit(() => {
      this.#cache.evict(id);
      const record = this.#writes.commitPending.get(params) as (PhotoRecord & { idempotency_key: string | null }) | undefined;
      if (record === undefined) throw new NotFoundError(`pending photo ${id} not found`);
      this.#keys.recordCommit(record, params.now);
      this.#words.indexPhoto(id);
      return toPhoto(record);
    });
  }

  /**
   * Recovery's commit of a pending row whose blob is complete: true once
   * committed; false, with the row left pending for recovery to roll back,
   * when its idempotency key went to another photo meanwhile (a retry that
   * stored again after this store's daemon died): committing both would
   * store one request twice.
   */
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

  /** One daemon per file: nothing to share the work with. */
  runAlone<T>(_name: 'sweep', work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** The record of a store's idempotency key while its window lasts, or null. */
  async storedUnderKey(clientId: string, key: string): Promise<KeyRecord | null> {
    this.assertOpen();
    return this.#keys.lookup(clientId, key);
  }

  /** Deletes the idempotency keys past their window (commits also do, every few minutes). Resolves to how many. */
  pruneIdempotencyKeys(): Promise<number> {
    return this.#writer.submit(() => this.#keys.pruneNow(), { durable: false });
  }

  /**
   * Inserts committed rows for photos whose objects outlived their rows (a lost
   * or restored catalog); a photo that has a row keeps it. Resolves to how many
   * were inserted. Their metadata and processing state are not in the object,
   * so they start empty and `queued`.
   */
  adoptRows(rows: readonly AdoptedRow[]): Promise<number> {
    const at = now();
    return this.#writer.submit(() => {
      let inserted = 0;
      for (const row of rows) {
        const changes = this.#writes.adopt.run({ ...row, now: at }).changes;
        if (changes > 0) this.#words.indexPhoto(row.id);
        inserted += changes;
      }
      return inserted;
    });
  }

  /** Drops rows whatever their state: a restore's rows whose objects are gone (deleted after the backup was taken). */
  forgetRows(ids: readonly string[]): Promise<void> {
    return this.#writer.submit(() => {
      for (const id of ids) {
        this.#cache.evict(id);
        this.#writes.forget.run(id);
      }
    });
  }

  discardPending(id: string): Promise<void> {
    // A discard lost to a power cut leaves a pending row that recovery rolls back.
    return this.#writer.submit(
      () => {
        this.#cache.evict(id);
        this.#writes.discardPending.run(id);
      },
      { durable: false },
    );
  }

  abandonPending(id: string): Promise<boolean> {
    return this.#writer.submit(() => {
      this.#cache.evict(id);
      return this.#writes.abandonPending.run({ id, now: now() }).changes > 0;
    });
  }

  /** Hides a committed photo and records the intent to delete its blob (photo-catalog.ts). */
  markDeleting(clientId: string, id: string): Promise<{ bucket: string; s3_key: string }> {
    return this.#writer.submit(() => {
      this.#cache.evict(id);
      const ref =
        this.#writes.markDeleting.get({ id, client_id: clientId, now: now() }) ?? this.#writes.stillDeleting.get({ id, client_id: clientId });
      if (ref === undefined) throw new NotFoundError(`photo ${id} not found`);
      return ref as { bucket: string; s3_key: string };
    });
  }

  /** Removes a row marked `deleting` once its blob is gone; other states are left alone, so a visible photo never loses its row this way. */
  deleteRow(id: string): Promise<void> {
    // The blob is already gone and the row hidden; if this is lost, recovery finishes the delete.
    return this.#writer.submit(
      () => {
        this.#cache.evict(id);
        this.#writes.deleteRow.run(id);
      },
      { durable: false },
    );
  }

  async updateMetadata(clientId: string, id: string, patch: unknown): Promise<Photo> {
    const values = parseMetadataPatch(patch);
    return this.#writer.submit(() => {
      this.#cache.evict(id);
      // Read inside the write transaction: no other write can slip between the check and the update.
      const current = this.#writes.processingStatus.get(id, clientId) as ProcessingStatus | undefined;
      if (current === undefined) throw new NotFoundError(`photo ${id} not found`);
      const at = now();
      const next = values.processing_status as ProcessingStatus | undefined;
      const fields = { ...values };
      if (next !== undefined) {
        assertTransition(current, next);
        if (next === 'in_progress' && fields.processing_started_at === undefined) fields.processing_started_at = at;
        if (isFinished(next) && fields.processing_completed_at === undefined) fields.processing_completed_at = at;
      }
      const params: Record<string, unknown> = { id, client_id: clientId, updated_at: at };
      for (const field of PATCH_FIELDS) if (fields[field] !== undefined) params[field] = fields[field];
      const photo = toPhoto(this.#patchStatements.get(patchUpdateSql(fields)).get(params) as PhotoRecord);
      if (fields.original_filename !== undefined) this.#words.indexPhoto(id);
      return photo;
    });
  }

  /**
   * Sets every patchable field of a committed photo, and its updated_at, as an
   * update record holds them (update-records/): rebuild and restore bring an
   * update back with it, and a failed record write undoes its update with it.
   * No processing transition is checked: the record is a state the photo
   * already had. Resolves to the photo, or null when it has no committed row
   * of this client.
   */
  applyUpdateRecord(clientId: string, id: string, values: PatchValues, updatedAt: string, recordOwed: boolean): Promise<Photo | null> {
    const params: Record<string, unknown> = { id, client_id: clientId, updated_at: updatedAt };
    for (const field of PATCH_FIELDS) if (values[field] !== undefined) params[field] = values[field];
    return this.#writer.submit(() => {
      this.#cache.evict(id);
      const record = this.#patchStatements.get(patchUpdateSql(values, recordOwed)).get(params) as PhotoRecord | undefined;
      if (record === undefined) return null;
      this.#words.indexPhoto(id);
      return toPhoto(record);
    });
  }

  /**
   * The photo's update record now holds its row as of `updatedAt`: clears the
   * mark its update set, unless a later change moved updated_at on. Not fsynced
   * on its own: a clear lost to a power cut only costs one record written again.
   */
  recordWritten(id: string, updatedAt: string): Promise<void> {
    return this.#writer.submit(
      () => {
        this.#writes.recordWritten.run(id, updatedAt);
      },
      { durable: false },
    );
  }

  /**
   * Marks a committed photo's update record owed, so settleOwed writes it
   * from the row: `check --repair` for a record found not to hold its row.
   */
  oweRecord(id: string): Promise<void> {
    return this.#writer.submit(() => {
      this.#writes.oweRecord.run(id);
    });
  }

  /** Committed photos whose update record is owed (migration 007), oldest first: the recovery pass's work list. */
  async owingRecords(limit: number): Promise<Array<{ id: string; client_id: string }>> {
    this.assertOpen();
    return this.#reads.owingRecords.all(limit) as Array<{ id: string; client_id: string }>;
  }

  /** SQLite always answers at once: from the cache, or with one read on the reader connection. */
  photoNow(clientId: string, id: string): Photo | null {
    this.assertOpen();
    const cached = this.#cache.get(id);
    // A photo never changes client, so a cached entry of another client means "not yours".
    if (cached !== undefined) return cached.client_id === clientId ? cached : null;
    const row = this.#reads.photo.get(id, clientId) as unknown[] | undefined;
    if (row === undefined) return null;
    const record = recordOf(row);
    const photo = toPhoto(record);
    this.#cache.set(photo, heapBytes(record));
    return photo;
  }

  async getPhoto(clientId: string, id: string): Promise<Photo | null> {
    return this.photoNow(clientId, id);
  }

  async search(clientId: string, query: unknown): Promise<SearchResult> {
    this.assertOpen();
    const started = performance.now();
    return searchResult(await this.#runSearch(clientId, parseSearchQuery(query)), started);
  }

  async #runSearch(clientId: string, plan: SearchPlan): Promise<SearchPage> {
    if (this.searchThreads !== null) return photosOf(await this.searchThreads.run(clientId, plan));
    return runSearch(this.#reader, this.#searchStatements, clientId, plan);
  }


  /** A user's committed photos, newest first. */
  async userPhotos(clientId: string, userId: unknown, options: unknown): Promise<PhotoPage> {
    this.assertOpen();
    return userPhotosPage(await this.#runSearch(clientId, parseUserPhotosQuery(userId, options)));
  }

  /** Resolves once the writer has taken SQLite's write lock and released it: the database can take writes (readiness). */
  ping(): Promise<void> {
    return this.#writer.submit(() => undefined, { durable: false });
  }

  /**
   * Committed photos and their bytes per bucket, every client's (storagectl
   * stats, /metrics), from the counters migration 005's triggers keep: a few
   * rows, where grouping the photos table blocked the loop for seconds at a
   * million rows.
   */
  bucketTotals(): Promise<{ bucket: string; photos: number; bytes: number }[]> {
    return Promise.resolve(this.#reads.bucketTotals.all() as { bucket: string; photos: number; bytes: number }[]);
  }

  writerStats(): WriterStats {
    return this.#writer.stats();
  }

  /** Counted by the search threads; a catalog searching on the calling thread has no bound to stop at. */
  get searchesTimedOut(): number {
    return this.searchThreads?.stats().timedOut ?? 0;
  }

  /** Finishes submitted writes, then closes both connections. Safe to call twice. */
  close(): Promise<void> {
    // The reader closes first: the last connection out checkpoints the WAL into
    // the database and removes it, which a read-only connection cannot do.
    this.#closing ??= (this.#checkpoints?.stop() ?? Promise.resolve())
      .finally(() => this.searchThreads?.close())
      .finally(() => this.#reader.close()) // reads are refused from here on anyway
      .then(() => this.#writer.close());
    return this.#closing;
  }

  protected override assertOpen(): void {
    if (this.#closing !== null) throw new ClosedError('the catalog is closed');
  }
}
