// What the coordinator, recovery, the check and the daemon ask of a catalog,
// whichever engine holds it: the embedded SQLite file (catalog.ts, one host)
// or PostgreSQL (many hosts sharing one catalog). Every answer is a promise,
// since a shared catalog is across a network; the one exception is
// `photoNow`, the synchronous look that lets a hot getPhoto be answered
// without a promise when the engine can tell at once (SQLite always can; a
// remote engine only from its cache).
//
// Both engines give the same answers, the same errors and the same page
// cursors for the same rows: one contract suite runs against each.

import type { Photo, PhotoPage, SearchResult } from '../../protocol/types';
import type { KeyRecord } from './idempotency-keys';
import type { NewPhotoRow, RowState } from './photo-row';

export interface StaleRow {
  id: string;
  bucket: string;
  s3_key: string;
  size: number;
  checksum: string;
  state: RowState;
}

/** A row brought back from its object's identity (rebuild, restore, the orphan sweep's adoption). */
export type AdoptedRow = Omit<NewPhotoRow, 'metadata'> & { uploaded_at: string };

export type RecoveredCommit = 'committed' | 'key-taken' | 'settled';

export interface CatalogStats {
  /** Transactions begun (one per batch of writes). */
  transactions: number;
  /** Writes settled, successfully or not. */
  writes: number;
  /** Writes rejected. */
  failedWrites: number;
  largestBatch: number;
  /** Writes waiting for the next batch, where the engine keeps such a queue. */
  queueDepth?: number;
}

/** Committed photos and their bytes in one bucket, every client's (storagectl stats, /metrics). */
export interface BucketTotal {
  bucket: string;
  photos: number;
  bytes: number;
}

/** A committed row as its update record (update-records/) should hold it. */
export interface RecordedRow {
  photo: Photo;
  /** Its record may lag it: an update is between row and record, or a write failed (migration 007). */
  recordOwed: boolean;
}

/**
 * The bookkeeping reads of recovery, the check, rebuild and restore: rows in
 * flight, which objects rows name, when this catalog was live.
 */
export interface CatalogBookkeeping {
  /** This catalog's id (catalog_identity), written into every object's identity. */
  readonly catalogId: string;
  /**
   * Rows left in `state` since before `olderThan`, oldest first: recovery's
   * work list. `own.olderThan` widens it for this daemon's own rows (a shared
   * catalog's rows name the node that left them; every row of an SQLite file
   * is its one daemon's).
   */
  staleRows(state: 'pending' | 'deleting', olderThan: string, limit: number, own?: { olderThan: string }): Promise<StaleRow[]>;
  /** How many rows staleRows would list, without reading them. */
  countStaleRows(state: 'pending' | 'deleting', olderThan: string): Promise<number>;
  /** Whether any row, in any state, names this object: such a blob is never an orphan. */
  isKnownBlob(bucket: string, key: string): Promise<boolean>;
  /** Committed photos whose update record the daemon has still to write (SQLite's migration 007; 0 on PostgreSQL). */
  countOwedRecords(): Promise<number>;
  /** Whether any row, in any state, is photo `id` in `bucket`: its update record (update-records/) is then its own. */
  hasPhotoIn(bucket: string, id: string): Promise<boolean>;
  /**
   * The committed row of photo `id` in `bucket` and whether its update record
   * is owed, for comparing the record with it (the check); null when there is
   * none. PostgreSQL keeps no records (it is its own durable copy) and answers null.
   */
  recordedRow(bucket: string, id: string): Promise<RecordedRow | null>;
  /** Whether this catalog was live when an object of its own was dated `at` (orphan-rule.ts). */
  wasLiveAt(at: string): Promise<boolean>;
  /** Whether the catalog holds no row at all (freshly created, or lost and started anew). */
  isEmpty(): Promise<boolean>;
  /** Committed rows in storage order, a page at a time (for the consistency check and restore). */
  committedRowsAfter(seq: number, limit: number): Promise<Array<StaleRow & { seq: number }>>;
  countByState(): Promise<Record<RowState, number>>;
}

export interface PhotoCatalog extends CatalogBookkeeping {
  /** Which engine this is, for logs and /ready. */
  readonly engine: 'sqlite' | 'postgres';

  insertPending(row: NewPhotoRow): Promise<void>;
  /**
   * Makes a pending photo visible (`final`: its size and digest when the row
   * was inserted before the body had fully arrived). A row stored with an
   * idempotency key records the key in the same transaction; when another
   * photo holds the key nothing is committed and it rejects with KeyTakenError.
   */
  commitPending(id: string, final?: { size: number; checksum: string }): Promise<Photo>;
  /**
   * Recovery's commit: `committed`; `key-taken` (row left pending) when its
   * idempotency key went to another photo meanwhile; `settled` when the row is
   * no longer pending (another daemon's recovery got there first).
   */
  commitRecovered(id: string): Promise<RecoveredCommit>;
  discardPending(id: string): Promise<void>;
  /** Recovery's rollback, first step: the pending row becomes `deleting`, so its store can no longer commit it. False when it was not pending any more. */
  abandonPending(id: string): Promise<boolean>;
  /**
   * Hides a committed photo and records the intent to delete its blob. A row
   * of this client already `deleting` (a delete not yet confirmed: its object
   * could not be removed) is answered with its reference, unchanged, so the
   * delete sent again can finish it. NotFoundError when there is neither.
   */
  markDeleting(clientId: string, id: string): Promise<{ bucket: string; s3_key: string }>;
  /** Removes a row marked `deleting` once its blob is gone; other states are left alone. */
  deleteRow(id: string): Promise<void>;
  updateMetadata(clientId: string, id: string, patch: unknown): Promise<Photo>;
  /** Inserts committed rows for objects that outlived their rows; a photo with a row keeps it. Resolves to how many. */
  adoptRows(rows: readonly AdoptedRow[]): Promise<number>;
  /** Drops rows whatever their state (a restore's rows whose objects are gone). */
  forgetRows(ids: readonly string[]): Promise<void>;

  /** The record of a store's idempotency key while its window lasts, or null. */
  storedUnderKey(clientId: string, key: string): Promise<KeyRecord | null>;
  /** Deletes the idempotency keys past their window. Resolves to how many. */
  pruneIdempotencyKeys(): Promise<number>;

  /**
   * The committed photo (null: none of this client's) when the engine can
   * tell without waiting; undefined when getPhoto must ask. Throws ClosedError
   * once closed.
   */
  photoNow(clientId: string, id: string): Photo | null | undefined;
  getPhoto(clientId: string, id: string): Promise<Photo | null>;
  search(clientId: string, query: unknown): Promise<SearchResult>;
  /** A user's committed photos, newest first. */
  userPhotos(clientId: string, userId: unknown, options: unknown): Promise<PhotoPage>;

  /**
   * Runs `work` unless another daemon sharing this catalog is running work of
   * the same name (the orphan and upload sweeps: once at a time, not on every
   * host); resolves to undefined when it was skipped. On SQLite it always runs.
   */
  runAlone<T>(name: 'sweep', work: () => Promise<T>): Promise<T | undefined>;

  /** Resolves once the catalog can take a write (readiness); rejects with UnavailableError when it cannot. */
  ping(): Promise<void>;
  writerStats(): CatalogStats;
  /** Searches stopped at STORAGED_SEARCH_TIMEOUT_MS since the catalog opened (storaged_search_timed_out_total). */
  readonly searchesTimedOut: number;
  /** Committed photos and bytes per bucket: a scan of the table, for operators' figures only. */
  bucketTotals(): Promise<BucketTotal[]>;
  /** Finishes submitted writes, then closes. Safe to call twice. */
  close(): Promise<void>;
}
