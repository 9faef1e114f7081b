// The check command's look at incomplete multipart uploads: parts MinIO keeps
// (and bills disk for) that no object will ever use. They are listed per
// bucket and, for every pending row, by its key too, because after a MinIO
// restart an upload begun before it shows up only when asked for by key.
// Stale ones are what recovery aborts: older than the orphan grace period, or
// left by a pending row older than the pending timeout.

import { BUCKETS } from '../../protocol/types';
import type { BlobStore, IncompleteUpload } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';

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
  /** Younger uploads that no stale row explains: most likely stores in progress. */
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

export async function checkIncompleteUploads(catalog: Catalog, blobs: BlobStore, o: UploadCheckOptions): Promise<UploadReport> {
  const report: UploadReport = { perBucket: {}, ofPendingRows: 0, stale: [], staleCount: 0, young: 0 };
  const pending = catalog.staleRows('pending', new Date(o.now).toISOString(), MAX_PENDING_ROWS);
  const stalePending = new Set(catalog.staleRows('pending', new Date(o.now - o.pendingTimeoutMs).toISOString(), MAX_PENDING_ROWS).map((r) => r.id));
  const rowOf = new Map(pending.map((r) => [`${r.bucket}/${r.s3_key}`, r.id]));
  const seen = new Set<string>();

  const consider = (bucket: string, upload: IncompleteUpload) => {
    const where = `${bucket}/${upload.key}`;
    if (seen.has(`${where}\0${upload.uploadId}`)) return;
    seen.add(`${where}\0${upload.uploadId}`);
    const photoId = rowOf.get(where) ?? null;
    const stale = upload.initiated.getTime() <= o.now - o.orphanGraceMs || (photoId !== null && stalePending.has(photoId));
    if (!stale) {
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
      consider(bucket, upload);
    }
    report.perBucket[bucket] = listed;
  }
  for (const row of pending) {
    for await (const upload of blobs.incompleteUploads(row.bucket, row.s3_key)) {
      report.ofPendingRows++;
      consider(row.bucket, upload);
    }
  }
  return report;
}
