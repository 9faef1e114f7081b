// Brings back the photos whose objects outlived their rows: every object of
// storaged's in the blob store that names itself (object-identity.ts) and has
// no row becomes a committed row again. `storaged rebuild` runs it over an
// empty catalog; a restore runs it over the backup it brought back, for the
// photos stored after that backup. Listing is paged by the blob store and rows
// go in batches, so memory stays flat however many objects there are.

import { BUCKETS } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { AdoptedRow, PhotoCatalog } from '../db/photo-catalog';
import { keyOwner } from '../db/object-key';
import { blobDigest } from './blob-digest';

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
  durationMs: number;
}

const BATCH = 500;
const MAX_LISTED = 1000;

export async function adoptMissingObjects(
  catalog: PhotoCatalog,
  blobs: BlobStore,
  options: { namespace: string; signal?: AbortSignal },
): Promise<AdoptionReport> {
  const started = performance.now();
  const report: AdoptionReport = { listed: 0, adopted: 0, alreadyKnown: 0, hashed: 0, foreign: 0, unidentified: 0, unidentifiedKeys: [], durationMs: 0 };
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
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
