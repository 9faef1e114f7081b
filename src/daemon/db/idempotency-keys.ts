// Idempotency keys of stores (migrations/003_idempotency_keys.sql): a key is
// recorded in the writer op that commits its photo, so a key is on record
// exactly when its photo became visible, whoever committed it (the store, or
// recovery after a crash). A repeated store with a recorded key is answered
// with the first result; with a different body or options it is a CONFLICT.

import { createHash } from 'node:crypto';
import type { BucketName, PhotoResult, ProcessingStatus } from '../../protocol/types';
import type { Statement } from 'better-sqlite3';
import type { Db } from './open-database';
import type { NewPhotoRow } from './photo-row';

/** Default window a key is remembered (STORAGED_IDEMPOTENCY_WINDOW_S). */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;
/** Expired keys are deleted at most this often, inside a commit that records a key (no timer). */
const PRUNE_EVERY_MS = 10 * 60_000;

/** What a store asked for; two stores under one key must agree on all of it. */
export interface StoreRequestFacts {
  checksum: string;
  size: number;
  original_filename: string;
  mime_type: string;
  user_id: string | null;
  session_id: string | null;
  metadata: Record<string, string>;
}

/** The first answer, kept without its URL (made afresh for each repeat), with what making that URL needs. */
export interface StoredResult extends Omit<PhotoResult, 's3_url'> {
  original_filename: string;
  mime_type: string;
}

export interface KeyRecord {
  photoId: string;
  fingerprint: string;
  result: StoredResult;
  createdAt: string;
}

/** Thrown by a commit whose key another photo already holds: the commit is undone, the row stays pending. */
export class KeyTakenError extends Error {
  constructor(readonly key: string) {
    super(`idempotency key ${JSON.stringify(key)} is already recorded for another photo`);
    this.name = 'KeyTakenError';
  }
}

/** sha256 over the facts in a fixed order, metadata keys sorted. */
export function storeFingerprint(facts: StoreRequestFacts): string {
  const metadata = Object.entries(facts.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([
    facts.checksum,
    facts.size,
    facts.original_filename,
    facts.mime_type,
    facts.user_id,
    facts.session_id,
    metadata,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** A committed row as commitPending returns it (the Photo's columns and its key), on either engine. */
export interface CommittedRow extends Omit<NewPhotoRow, 'metadata' | 'uploaded_at'> {
  processing_status: string;
  /** JSON text, as both engines store it. */
  metadata: string;
  created_at: string;
}

/** What a key's record holds for a committed row: the fingerprint of its request, and its first answer. Both engines record the same. */
export function keyRecordOf(row: CommittedRow): { fingerprint: string; result: StoredResult } {
  const metadata = JSON.parse(row.metadata) as Record<string, string>;
  const fingerprint = storeFingerprint({ ...row, metadata });
  const result: StoredResult = {
    id: row.id,
    s3_key: row.s3_key,
    bucket: row.bucket as BucketName,
    size: row.size,
    checksum: row.checksum,
    processing_status: row.processing_status as ProcessingStatus,
    created_at: row.created_at,
    original_filename: row.original_filename,
    mime_type: row.mime_type,
  };
  return { fingerprint, result };
}

export class IdempotencyKeys {
  readonly #windowMs: number;
  readonly #claim: Statement;
  readonly #prune: Statement;
  readonly #lookup: Statement;
  #lastPrune = 0;

  constructor(writer: Db, reader: Db, windowMs: number = DEFAULT_IDEMPOTENCY_WINDOW_MS) {
    if (!Number.isSafeInteger(windowMs) || windowMs < 1000) throw new RangeError('the idempotency window must be at least 1000 ms');
    this.#windowMs = windowMs;
    // An expired record of the same key is taken over; a live one is left alone (no change: the key is taken).
    this.#claim = writer.prepare(`INSERT INTO idempotency_keys (client_id, key, photo_id, fingerprint, result, created_at)
      VALUES (@client_id, @key, @photo_id, @fingerprint, @result, @now)
      ON CONFLICT (client_id, key) DO UPDATE SET photo_id = excluded.photo_id, fingerprint = excluded.fingerprint,
        result = excluded.result, created_at = excluded.created_at
      WHERE idempotency_keys.created_at < @cutoff`);
    this.#prune = writer.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
    this.#lookup = reader.prepare(`SELECT photo_id, fingerprint, result, created_at FROM idempotency_keys
      WHERE client_id = ? AND key = ? AND created_at >= ?`);
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  #cutoff(nowMs: number): string {
    return new Date(nowMs - this.#windowMs).toISOString();
  }

  /** The key's record while its window lasts, or null. */
  lookup(clientId: string, key: string): KeyRecord | null {
    const row = this.#lookup.get(clientId, key, this.#cutoff(Date.now())) as
      | { photo_id: string; fingerprint: string; result: string; created_at: string }
      | undefined;
    if (row === undefined) return null;
    return { photoId: row.photo_id, fingerprint: row.fingerprint, result: JSON.parse(row.result) as StoredResult, createdAt: row.created_at };
  }

  /**
   * Inside the writer op that commits `row`: records its key, if it has one.
   * Throws KeyTakenError when another photo holds the key (the op is then undone).
   */
  recordCommit(row: CommittedRow, nowIso: string): void {
    const key = row.idempotency_key;
    if (key === null || key === undefined) return;
    const nowMs = Date.parse(nowIso);
    const { fingerprint, result } = keyRecordOf(row);
    const claimed = this.#claim.run({
      client_id: row.client_id,
      key,
      photo_id: row.id,
      fingerprint,
      result: JSON.stringify(result),
      now: nowIso,
      cutoff: this.#cutoff(nowMs),
    }).changes;
    if (claimed === 0) throw new KeyTakenError(key);
    if (nowMs - this.#lastPrune >= Math.min(PRUNE_EVERY_MS, this.#windowMs)) {
      this.#lastPrune = nowMs;
      this.#prune.run(this.#cutoff(nowMs));
    }
  }

  /** Deletes every key past its window now (tests, and the check command if it wants to). Returns how many. */
  pruneNow(nowMs: number = Date.now()): number {
    return this.#prune.run(this.#cutoff(nowMs)).changes;
  }
}
