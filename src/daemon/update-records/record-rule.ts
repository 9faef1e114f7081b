// What an update record (update-record.ts) found by a listing is, by the rule
// the orphan sweep removes records with; `storaged check` reports by the same
// rule, as orphan-rule.ts does for photo objects.
//
// A record is only ever a copy of its photo's mutable fields: it can bring
// nothing back once its photo's bytes are gone. So a record is removable when
// no row names its photo and its photo's object no longer exists (the photo
// was deleted, and the delete's own removal of the record failed or was cut
// short). While the photo's object exists the record is kept whatever the
// catalog says, since a lost or restored catalog is exactly when it is needed;
// the sweep also never removes one over an empty catalog, nor one younger
// than the orphan grace period.

import { createHash } from 'node:crypto';
import type { BlobStore } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { encodeRecord, readRecord, recordAgrees, updateRecordOf } from './update-record';

/**
 * - `live`: a row names its photo (any state: a delete in progress removes it); the check reads it (recordStanding), the sweep does not;
 * - `unadopted`: no row, but its photo's object exists: a lost or restored catalog's photo, for rebuild/restore;
 * - `stale`: its photo is gone, row and object: removable;
 * - `unidentified`: not a valid record, or one naming another photo than its key: kept, for an operator.
 */
export type RecordKind = 'live' | 'unadopted' | 'stale' | 'unidentified';

export async function recordKind(catalog: CatalogBookkeeping, blobs: BlobStore, bucket: string, key: string, photoId: string): Promise<RecordKind> {
  // The common case costs no request to the blob store: a sweep or a check over
  // a million updated photos would otherwise read a million records.
  if (await catalog.hasPhotoIn(bucket, photoId)) return 'live';
  const record = await readRecord(blobs, bucket, key);
  if (record === null || record.id !== photoId) return 'unidentified';
  if ((await blobs.stat(bucket, record.s3Key)) !== null) return 'unadopted';
  return 'stale';
}

/**
 * How a live record (its photo has a row) stands against that row, for the
 * check and `check --repair`:
 * - `agrees`: it holds the row (recordAgrees): a rebuild or restore would bring the row back as it is;
 * - `owed`: the row is marked owed (an update between row and record, a failed write): settleOwed writes it, and the check counts it as owed;
 * - `behind`: the row holds what the record does not (an older update, other fields, or no valid record): a lost catalog would lose that;
 * - `ahead`: the record is newer than its row: the catalog lacks an acknowledged update (a database file put back by hand, not restored); restore or rebuild applies it, and rewriting it from the row would lose it;
 * - `gone`: no committed row (deleted, or deleting, meanwhile; or PostgreSQL, which keeps no records).
 */
export type RecordStanding = 'agrees' | 'owed' | 'behind' | 'ahead' | 'gone';

/**
 * `listed`: what a listing just said of the record. With an ETag (MinIO), a
 * record whose ETag is the MD5 of the record this catalog would write from
 * the row now agrees without being read: the common case costs no request
 * (a record written by another catalog, a lost one's, is read).
 */
export async function recordStanding(
  catalog: Pick<CatalogBookkeeping, 'recordedRow' | 'catalogId'>,
  blobs: BlobStore,
  bucket: string,
  key: string,
  photoId: string,
  listed?: { size: number; etag?: string },
): Promise<RecordStanding> {
  if (listed?.etag !== undefined) {
    const row = await catalog.recordedRow(bucket, photoId);
    if (row === null) return 'gone';
    if (row.recordOwed) return 'owed';
    const expected = createHash('md5').update(encodeRecord(updateRecordOf(row.photo, catalog.catalogId))).digest('hex');
    if (expected === listed.etag) return 'agrees';
  }
  const first = await standingOnce(catalog, blobs, bucket, key, photoId, listed?.size);
  if (first !== 'behind' && first !== 'ahead') return first;
  // Looked at again, record then row, before it is told: an update that wrote its record and cleared its
  // mark between the two reads (beside a running daemon) would otherwise be reported. Without the listing's
  // size, too: a record rewritten since the listing may be longer.
  return standingOnce(catalog, blobs, bucket, key, photoId);
}

async function standingOnce(
  catalog: Pick<CatalogBookkeeping, 'recordedRow'>,
  blobs: BlobStore,
  bucket: string,
  key: string,
  photoId: string,
  listedSize?: number,
): Promise<RecordStanding> {
  // The record first: an update landing after this read marks its row owed until its record is durable.
  const record = await readRecord(blobs, bucket, key, listedSize);
  const row = await catalog.recordedRow(bucket, photoId);
  if (row === null) return 'gone';
  if (row.recordOwed) return 'owed';
  if (record === null || record.id !== photoId) return 'behind';
  if (recordAgrees(record, row.photo)) return 'agrees';
  return record.updatedAt > row.photo.updated_at ? 'ahead' : 'behind';
}
