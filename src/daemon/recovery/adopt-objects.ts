// Brings back the photos whose objects outlived their rows: every object of
// storaged's in the blob store that names itself (object-identity.ts) and has
// no row becomes a committed row again. `storaged rebuild` runs it over an
// empty catalog; a restore runs it over the backup it brought back, for the
// photos stored after that backup. Listing is paged by the blob store and rows
// go in batches, so memory stays flat however many objects there are.
//
// Then every photo's update record (update-records/) is applied to its row:
// the metadata and processing state of its last acknowledged update, which
// the object's identity (written once, at store time) cannot hold. A rebuilt
// row starts as the photo was stored; a restored one as of the backup; the
// record brings either to the last update acknowledged before the loss.

import { BUCKETS } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { AdoptedRow, PhotoCatalog } from '../db/photo-catalog';
import { keyOwner } from '../db/object-key';
import { blobDigest } from './blob-digest';
import type { Catalog } from '../db/catalog';
import type { Logger } from '../logger';
import { readRecord, recordOwner, recordPrefix } from '../update-records/update-record';

export interface AdoptionReport {
  /** Objects looked at. */
  listed: number;
  /** Rows inserted. */
  adopted: number;
  /** Objects that already had their row. */
  alreadyKnown: number;
  /** Adopted objects whose digest was not in their identity (uploads begun while the body arrived): hashed from the bytes. */
  hashed: number;
  /** Objects outside the namespace: not storaged's, left alone. */
  foreign: number;
  /** Objects in the namespace without a valid identity, or whose size differs from it: left for an operator. */
  unidentified: number;
  /** The first of those, to look at. */
  unidentifiedKeys: Array<{ bucket: string; key: string; reason: string }>;
  /** Update records found (not photos: never counted as foreign or unidentified objects when valid). */
  records: number;
  /** Records applied to their photo's row (its state differed from the last acknowledged update). */
  recordsApplied: number;
  /** Records whose photo has no row (its object is gone or unidentified): nothing to apply them to. */
  recordsWithoutPhoto: number;
  /**
   * Fields of applied records that today's patch rules refuse (a value stored
   * before them, or planted): not applied, so the row keeps the value it had
   * (a rebuilt one, its object's identity's; a restored one, the backup's).
   * The rest of such a record is applied.
   */
  recordFieldsRefused: number;
  /** The first of those, by photo and field (never the value). */
  refusedRecordFields: Array<{ photoId: string; field: string }>;
  durationMs: number;
}

const BATCH = 500;
const MAX_LISTED = 1000;

export interface AdoptionOptions {
  namespace: string;
  signal?: AbortSignal;
  /** Told of record fields refused (photo and field, never the value). */
  logger?: Logger;
}

/** The catalog adoption fills: the SQLite engine's, the only one whose rows records are kept for. */
export type AdoptingCatalog = PhotoCatalog & Pick<Catalog, 'applyUpdateRecord'>;

export async function adoptMissingObjects(
  catalog: AdoptingCatalog,
  blobs: BlobStore,
  options: AdoptionOptions,
): Promise<AdoptionReport> {
  const started = performance.now();
  const report: AdoptionReport = {
    listed: 0, adopted: 0, alreadyKnown: 0, hashed: 0, foreign: 0, unidentified: 0, unidentifiedKeys: [],
    records: 0, recordsApplied: 0, recordsWithoutPhoto: 0, recordFieldsRefused: 0, refusedRecordFields: [], durationMs: 0,
  };
  const unidentified = (bucket: string, key: string, reason: string) => {
    report.unidentified++;
    if (report.unidentifiedKeys.length < MAX_LISTED) report.unidentifiedKeys.push({ bucket, key, reason });
  };
  let batch: AdoptedRow[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    report.adopted += await catalog.adoptRows(batch);
    batch = [];
  };

  for (const bucket of BUCKETS) {
    for await (const blob of blobs.list(bucket)) {
      options.signal?.throwIfAborted();
      report.listed++;
      if (recordOwner(blob.key, options.namespace) !== null) {
        report.records++; // applied below, once every photo has its row
        continue;
      }
      const owner = keyOwner(blob.key, options.namespace);
      if (owner === null) {
        report.foreign++;
        continue;
      }
      if (await catalog.isKnownBlob(bucket, blob.key)) {
        report.alreadyKnown++;
        continue;
      }
      const identity = await blobs.identity(bucket, blob.key);
      if (identity === null) {
        unidentified(bucket, blob.key, 'no identity metadata');
        continue;
      }
      if (identity.id !== owner.photoId) {
        unidentified(bucket, blob.key, `its identity names photo ${identity.id}`);
        continue;
      }
      if (identity.size !== null && identity.size !== blob.size) {
        unidentified(bucket, blob.key, `holds ${blob.size} bytes, its identity says ${identity.size}`);
        continue;
      }
      let checksum = identity.sha256;
      if (checksum === null) {
        checksum = await blobDigest(blobs, bucket, blob.key);
        report.hashed++;
      }
      batch.push({
        id: identity.id,
        client_id: identity.clientId,
        user_id: identity.userId,
        session_id: identity.sessionId,
        original_filename: identity.originalFilename,
        mime_type: identity.mimeType,
        bucket,
        s3_key: blob.key,
        size: blob.size,
        checksum,
        uploaded_at: identity.uploadedAt,
      });
      if (batch.length >= BATCH) await flush();
    }
  }
  await flush();
  await applyRecords(catalog, blobs, options, report, unidentified);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function applyRecords(
  catalog: AdoptingCatalog,
  blobs: BlobStore,
  options: AdoptionOptions,
  report: AdoptionReport,
  unidentified: (bucket: string, key: string, reason: string) => void,
): Promise<void> {
  for (const bucket of BUCKETS) {
    for await (const blob of blobs.list(bucket, recordPrefix(options.namespace))) {
      options.signal?.throwIfAborted();
      const photoId = recordOwner(blob.key, options.namespace);
      if (photoId === null) continue; // counted by the listing above, as the object it is
      const record = await readRecord(blobs, bucket, blob.key);
      if (record === null || record.id !== photoId) {
        unidentified(bucket, blob.key, 'not a valid update record');
        continue;
      }
      // The row of the record's photo and client: a record cannot move a photo to another tenant.
      const photo = await catalog.getPhoto(record.clientId, record.id);
      if (photo === null || photo.bucket !== bucket) {
        report.recordsWithoutPhoto++;
        continue;
      }
      if (photo.updated_at === record.updatedAt) continue; // a restored row already as of this update
      // A refused field is left out of values, so the row keeps its own; the record is then owed, so the
      // daemon's first recovery pass rewrites it from the row and record and row agree again (the check says so).
      const refused = record.refused.length > 0;
      if ((await catalog.applyUpdateRecord(record.clientId, record.id, record.values, record.updatedAt, refused)) === null) continue;
      report.recordsApplied++;
      if (!refused) continue;
      report.recordFieldsRefused += record.refused.length;
      for (const field of record.refused) {
        if (report.refusedRecordFields.length < MAX_LISTED) report.refusedRecordFields.push({ photoId: record.id, field });
      }
      options.logger?.warn(
        { photoId: record.id, fields: record.refused },
        "update record fields refused by today's patch rules: the rest of the update is applied, these keep the row's value",
      );
    }
  }
}
