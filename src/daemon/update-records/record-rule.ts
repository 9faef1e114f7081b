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

import type { BlobStore } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { readRecord } from './update-record';

/**
 * - `live`: a row names its photo (any state: a delete in progress removes it); not read, so not checked either;
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
