// The catalog's bookkeeping reads: what recovery, the check command, rebuild
// and restore ask of it (rows in flight, which objects rows name, when this
// catalog was live). The daemon's Catalog extends it with writes and the
// callers' reads; `storaged check` uses it alone over a read-only connection
// (ReadOnlyCatalog), so that a check never changes the database it checks.

import Database from 'better-sqlite3';
import { ClosedError, ValidationError } from '../../protocol/errors';
import { DEFAULT_MIGRATIONS_DIR, MigrationError, readMigrationFiles } from './migrations';
import { photoIdOfKey } from './object-key';
import type { Db } from './open-database';
import { PHOTO_COLUMNS, recordOf, toPhoto, type RowState } from './photo-row';
import type { CatalogBookkeeping, RecordedRow, StaleRow } from './photo-catalog';

export type { StaleRow } from './photo-catalog';

function prepareQueries(db: Db) {
  return {
    staleRows: db.prepare(`SELECT id, bucket, s3_key, size, checksum, state FROM photos
      WHERE state <> 'committed' AND state = ? AND state_changed_at < ? ORDER BY state_changed_at LIMIT ?`),
    knownBlob: db.prepare('SELECT 1 FROM photos WHERE id = ? AND bucket = ? AND s3_key = ?').pluck(),
    photoIn: db.prepare('SELECT 1 FROM photos WHERE id = ? AND bucket = ?').pluck(),
    recordedRow: db.prepare(`SELECT ${PHOTO_COLUMNS}, p.record_owed FROM photos p WHERE p.id = ? AND p.bucket = ? AND p.state = 'committed'`).raw(true),
    owedRecords: db.prepare("SELECT count(*) FROM photos WHERE record_owed = 1 AND state = 'committed'").pluck(),
    countByState: db.prepare('SELECT state, count(*) AS n FROM photos GROUP BY state'),
    countStale: db
      .prepare(`SELECT count(*) FROM photos WHERE state <> 'committed' AND state = ? AND state_changed_at < ?`)
      .pluck(),
    liveAt: db.prepare('SELECT 1 FROM catalog_sessions WHERE started_at <= ? AND last_write_at >= ? LIMIT 1').pluck(),
    anyRow: db.prepare('SELECT 1 FROM photos LIMIT 1').pluck(),
    committedAfter: db.prepare(`SELECT seq, id, bucket, s3_key, size, checksum, state FROM photos
      WHERE seq > ? AND state = 'committed' ORDER BY seq LIMIT ?`),
  };
}

export class CatalogQueries implements CatalogBookkeeping {
  readonly #queries: ReturnType<typeof prepareQueries>;
  /** This catalog's id (catalog_identity), written into every object's identity. */
  readonly catalogId: string;

  constructor(reader: Db) {
    this.#queries = prepareQueries(reader);
    this.catalogId = reader.prepare('SELECT catalog_id FROM catalog_identity').pluck().get() as string;
  }

  /** Throws once the catalog is closed; the daemon's Catalog overrides it. */
  protected assertOpen(): void {}

  /** Rows left in `state` since before `olderThan`, oldest first: recovery's work list. */
  async staleRows(state: 'pending' | 'deleting', olderThan: string, limit: number, own?: { olderThan: string }): Promise<StaleRow[]> {
    this.assertOpen();
    if (state !== 'pending' && state !== 'deleting') throw new ValidationError('state must be "pending" or "deleting"');
    if (!Number.isSafeInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive integer');
    // One daemon per SQLite file: every row is its own, so the wider cutoff applies to all.
    const cutoff = own !== undefined && own.olderThan > olderThan ? own.olderThan : olderThan;
    return this.#queries.staleRows.all(state, cutoff, limit) as StaleRow[];
  }

  /** Whether any row, in any state, names this object: such a blob is never an orphan. */
  async isKnownBlob(bucket: string, key: string): Promise<boolean> {
    this.assertOpen();
    const id = photoIdOfKey(key);
    return id !== null && this.#queries.knownBlob.get(id, bucket, key) !== undefined;
  }

  async countOwedRecords(): Promise<number> {
    this.assertOpen();
    return this.#queries.owedRecords.get() as number;
  }

  async hasPhotoIn(bucket: string, id: string): Promise<boolean> {
    this.assertOpen();
    return this.#queries.photoIn.get(id, bucket) !== undefined;
  }

  async recordedRow(bucket: string, id: string): Promise<RecordedRow | null> {
    this.assertOpen();
    const row = this.#queries.recordedRow.get(id, bucket) as unknown[] | undefined;
    if (row === undefined) return null;
    return { photo: toPhoto(recordOf(row)), recordOwed: row[row.length - 1] === 1 };
  }

  /**
   * Whether this catalog was live when an object of its own was dated `at`:
   * then a missing row means a store that was never acknowledged. Outside every
   * run of this file (a lost catalog's objects, or ones written after the
   * backup this file was restored from) the object is not the sweep's to remove.
   */
  async wasLiveAt(at: string): Promise<boolean> {
    this.assertOpen();
    return this.#queries.liveAt.get(at, at) !== undefined;
  }

  /** Whether the catalog holds no row at all (freshly created, or lost and started anew). */
  async isEmpty(): Promise<boolean> {
    this.assertOpen();
    return this.#queries.anyRow.get() === undefined;
  }

  /** How many rows staleRows would list, without reading them. */
  async countStaleRows(state: 'pending' | 'deleting', olderThan: string): Promise<number> {
    this.assertOpen();
    return this.#queries.countStale.get(state, olderThan) as number;
  }

  /** Committed rows in storage order, a page at a time (for the consistency check). */
  async committedRowsAfter(seq: number, limit: number): Promise<Array<StaleRow & { seq: number }>> {
    this.assertOpen();
    return this.#queries.committedAfter.all(seq, limit) as Array<StaleRow & { seq: number }>;
  }

  async countByState(): Promise<Record<RowState, number>> {
    this.assertOpen();
    const counts: Record<RowState, number> = { pending: 0, committed: 0, deleting: 0 };
    for (const { state, n } of this.#queries.countByState.all() as Array<{ state: RowState; n: number }>) counts[state] = n;
    return counts;
  }
}

/**
 * The catalog opened read-only for `storaged check`: no migration, no write,
 * not even a run record. A database at another schema version than this
 * storaged's is refused with what to do, since its meaning may differ.
 */
export class ReadOnlyCatalog extends CatalogQueries {
  #closed = false;

  private constructor(private readonly db: Db) {
    super(db);
  }

  static open(file: string, migrationsDir: string = DEFAULT_MIGRATIONS_DIR): ReadOnlyCatalog {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const known = Math.max(0, ...readMigrationFiles(migrationsDir).map((m) => m.version));
      const hasVersions = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
      const version = hasVersions ? ((db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0) : 0;
      if (version !== known) {
        throw new MigrationError(
          version > known
            ? `database schema version ${version} is newer than this storaged (knows up to ${known}): run the check of the storaged that serves it`
            : `database schema version ${version} is older than this storaged's ${known}: start the daemon once to migrate it, or run the check of the storaged that serves it`,
        );
      }
      return new ReadOnlyCatalog(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  protected override assertOpen(): void {
    if (this.#closed) throw new ClosedError('the catalog is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }
}
