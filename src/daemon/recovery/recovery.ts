// Finishes what a crash (or a failed cleanup) interrupted, so the two stores
// agree again:
// - `pending` rows past the timeout: committed when the blob is there with the
//   recorded size and sha256, otherwise rolled back (blob and row removed);
// - `deleting` rows: blob removed, row removed;
// - objects no row knows, older than the grace period: removed;
// - incomplete multipart uploads by upload-rule.ts: those of the pending rows
//   rolled back, and those no row names once older than the grace period.

import { BUCKETS } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';
import type { Logger } from '../logger';
import { blobDigest } from './blob-digest';
import { uploadAbortAges } from './upload-rule';

export interface RecoveryReport {
  pendingCommitted: number;
  pendingRolledBack: number;
  deletesFinished: number;
  orphansRemoved: number;
  uploadsAborted: number;
}

export interface RecoveryTiming {
  /** Pending rows younger than this may belong to a store in progress. */
  pendingTimeoutMs: number;
  orphanGraceMs: number;
  /** Stores this process is still running; their pending rows are not recovery's to touch. */
  isInFlight?: (id: string) => boolean;
}

const BATCH = 500;

async function blobMatches(blobs: BlobStore, row: { bucket: string; s3_key: string; size: number; checksum: string }) {
  const info = await blobs.stat(row.bucket, row.s3_key);
  return info !== null && info.size === row.size && (await blobDigest(blobs, row.bucket, row.s3_key)) === row.checksum;
}

export async function recover(
  catalog: Catalog,
  blobs: BlobStore,
  timing: RecoveryTiming,
  logger: Logger,
  now: number = Date.now(),
): Promise<RecoveryReport> {
  const report: RecoveryReport = {
    pendingCommitted: 0,
    pendingRolledBack: 0,
    deletesFinished: 0,
    orphansRemoved: 0,
    uploadsAborted: 0,
  };

  const abortAge = uploadAbortAges(timing.orphanGraceMs);
  const pendingCutoff = new Date(now - timing.pendingTimeoutMs).toISOString();
  for (const row of catalog.staleRows('pending', pendingCutoff, BATCH)) {
    if (timing.isInFlight?.(row.id)) continue;
    // A row inserted while its body was still arriving holds a placeholder digest
    // (DIGEST_NOT_YET_KNOWN) and never matches: that store was never acknowledged,
    // so rolling it back is right.
    if (await blobMatches(blobs, row)) {
      await catalog.commitPending(row.id);
      report.pendingCommitted++;
    } else {
      // By key too: after a MinIO restart, a bucket-wide listing no longer shows
      // a multipart upload the crashed store left, but asking by its key does.
      report.uploadsAborted += await blobs.abortIncompleteUploads(row.bucket, abortAge.abandoned, row.s3_key);
      await blobs.remove(row.bucket, row.s3_key);
      await catalog.discardPending(row.id);
      report.pendingRolledBack++;
    }
  }

  // A delete in progress removes its blob within moments; only touch ones that stalled.
  const deletingCutoff = new Date(now - Math.min(timing.pendingTimeoutMs, 60_000)).toISOString();
  for (const row of catalog.staleRows('deleting', deletingCutoff, BATCH)) {
    await blobs.remove(row.bucket, row.s3_key);
    await catalog.deleteRow(row.id);
    report.deletesFinished++;
  }

  const orphanCutoff = now - timing.orphanGraceMs;
  for (const bucket of BUCKETS) {
    for await (const blob of blobs.list(bucket)) {
      if (blob.lastModified.getTime() > orphanCutoff) continue;
      // Stores insert their row before writing the blob, so a blob without a row is truly orphaned.
      if (catalog.isKnownBlob(bucket, blob.key)) continue;
      await blobs.remove(bucket, blob.key);
      report.orphansRemoved++;
    }
    // An upload whose key a row names is 'claimed' (its store's, however long it runs) or
    // 'abandoned' (its row was rolled back above, the upload with it, by key): only 'unclaimed' ones here.
    report.uploadsAborted += await blobs.abortIncompleteUploads(bucket, abortAge.unclaimed, undefined, (key) =>
      catalog.isKnownBlob(bucket, key),
    );
  }

  const acted = Object.values(report).some((n) => n > 0);
  (acted ? logger.info.bind(logger) : logger.debug.bind(logger))({ recovery: report }, 'recovery pass finished');
  return report;
}
