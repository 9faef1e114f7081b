// The check command's look at incomplete multipart uploads: parts MinIO keeps
// (and bills disk for) that no object will ever use. They are listed per
// bucket and, for every pending row, by its key too, because after a MinIO
// restart an upload begun before it shows up only when asked for by key.
// Stale ones are what recovery aborts, by the same rule (upload-rule.ts): ones
// no row names, older than the orphan grace period, and those of pending rows
// older than the pending timeout. An upload a younger pending row names is a
// store in progress however old it is. (Recovery in the daemon also spares the
// stores it is itself running past the timeout, which this separate process
// cannot see: such an upload is reported stale here.)

import { BUCKETS } from '../../protocol/types';
import type { BlobStore, IncompleteUpload } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { isStaleUpload, uploadClaim } from '../recovery/upload-rule';

export interface StaleUpload {
  bucket: string;
  key: string;
  initiated: string;
  /** The pending row whose store began it, when there is one. */
  photoId: string | null;
}

export interface UploadReport {
  /** Uploads the bucket-wide listing shows, per bucket. */
  perBucket: Record<string, number>;
  /** Uploads found by the keys of pending rows. */
  ofPendingRows: number;
  /** Uploads recovery would abort (listed up to a cap; staleCount counts them all). */
  stale: StaleUpload[];
  staleCount: number;
  /** Uploads recovery leaves alone: younger than the grace period, or named by a row whose store may still be running. */
  young: number;
}

export interface UploadCheckOptions {
  now: number;
  pendingTimeoutMs: number;
  orphanGraceMs: number;
  maxListed: number;
}

/** Pending rows looked up by key; a database with more has worse trouble, which staleRows reports. */
const MAX_PENDING_ROWS = 10_000;

export async function checkIncompleteUploads(catalog: CatalogBookkeeping, blobs: BlobStore, o: UploadCheckOptions): Promise<UploadReport> {
  const report: UploadReport = { perBucket: {}, ofPendingRows: 0, stale: [], staleCount: 0, young: 0 };
  const pending = await catalog.staleRows('pending', new Date(o.now).toISOString(), MAX_PENDING_ROWS);
  const stalePending = new Set((await catalog.staleRows('pending', new Date(o.now - o.pendingTimeoutMs).toISOString(), MAX_PENDING_ROWS)).map((r) => r.id));
  const rowOf = new Map(pending.map((r) => [`${r.bucket}/${r.s3_key}`, r.id]));
  const seen = new Set<string>();

  const consider = async (bucket: string, upload: IncompleteUpload) => {
    const where = `${bucket}/${upload.key}`;
    if (seen.has(`${where}\0${upload.uploadId}`)) return;
    seen.add(`${where}\0${upload.uploadId}`);
    const photoId = rowOf.get(where) ?? null;
    const claim = uploadClaim(photoId === null ? null : { stale: stalePending.has(photoId) }, await catalog.isKnownBlob(bucket, upload.key));
    if (!isStaleUpload(upload.initiated, claim, o.orphanGraceMs, o.now)) {
      report.young++;
      return;
    }
    report.staleCount++;
    if (report.stale.length < o.maxListed) report.stale.push({ bucket, key: upload.key, initiated: upload.initiated.toISOString(), photoId });
  };

  for (const bucket of BUCKETS) {
    let listed = 0;
    for await (const upload of blobs.incompleteUploads(bucket)) {
      listed++;
      await consider(bucket, upload);
    }
    report.perBucket[bucket] = listed;
  }
  for (const row of pending) {
    for await (const upload of blobs.incompleteUploads(row.bucket, row.s3_key)) {
      report.ofPendingRows++;
      await consider(row.bucket, upload);
    }
  }
  return report;
}
