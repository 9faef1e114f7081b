// Finishes what a crash (or a failed cleanup) interrupted, so the two stores
// agree again:
// - `pending` rows past the timeout: committed when the blob is there with the
//   recorded size and sha256, otherwise rolled back (blob and row removed);
// - `deleting` rows: blob removed, row removed;
// - objects no row knows, older than the grace period: removed only when they
//   are provably this catalog's unacknowledged leftovers (below); anything
//   else is kept and counted, for `storaged check` to report;
// - incomplete multipart uploads by upload-rule.ts, inside the namespace only:
//   those of the pending rows rolled back, and those no row names once older
//   than the grace period.
//
// Why an object without a row may be removed: it lies in this daemon's key
// namespace, carries storaged's identity (object-identity.ts) naming the
// photo its key names, was written by THIS catalog (catalog id), and at a
// time this catalog file was live (catalog_sessions). Every acknowledged store
// has a committed row, so such an object is a store that was never answered.
// An object from a lost catalog, from after the backup a catalog was restored
// from, from another namespace or application, or without identity never
// qualifies: losing a catalog file can no longer lose the photos.
import { BUCKETS } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { PhotoCatalog } from '../db/photo-catalog';
import type { Logger } from '../logger';
import { blobDigest } from './blob-digest';
import { uploadAbortAges } from './upload-rule';
import { datedPrefixes, DEFAULT_NAMESPACE, keyOwner } from '../db/object-key';
import { unclaimedKind, type UnclaimedKind } from './orphan-rule';
import { recordKind } from '../update-records/record-rule';
import { recordOwner, removeRecordOf } from '../update-records/update-record';

const KEPT = { foreign: 'foreignKept', unidentified: 'unidentifiedKept', adoptable: 'adoptableKept' } as const satisfies Record<
  Exclude<UnclaimedKind, 'orphan'>,
  keyof RecoveryReport
>;

export interface RecoveryReport {
  pendingCommitted: number;
  pendingRolledBack: number;
  deletesFinished: number;
  orphansRemoved: number;
  uploadsAborted: number;
  /** Objects without a row left alone: outside the namespace (another application's or daemon's). */
  foreignKept: number;
  /** ...in the namespace but without storaged's identity (or one naming another photo). */
  unidentifiedKept: number;
  /** ...with identity, but not written while this catalog was live: for restore or rebuild to adopt. */
  adoptableKept: number;
  /** Update records (update-records/) whose photo is gone, row and object: removed. */
  staleRecordsRemoved: number;
}

export interface RecoveryTiming {
  /** Pending rows younger than this may belong to a store in progress (on a shared catalog: any daemon's). */
  pendingTimeoutMs: number;
  /**
   * The same for this daemon's own rows, when it knows better (at start: 0,
   * nothing of this process is in flight yet). Defaults to pendingTimeoutMs.
   */
  ownPendingTimeoutMs?: number;
  orphanGraceMs: number;
  /** Stores this process is still running; their pending rows are not recovery's to touch. */
  isInFlight?: (id: string) => boolean;
  /** STORAGED_NAMESPACE; `storaged` when absent. */
  namespace?: string;
  /**
   * How to look for orphans and stale uploads: `full` lists whole buckets
   * (the default); `recent` only the dated key prefixes that can hold
   * leftovers young enough to have been missed (see datedPrefixes), so a
   * bucket of millions of objects is listed whole only now and then; `none`
   * finishes rows only (the daemon's start, before it opens its socket).
   */
  sweep?: 'full' | 'recent' | 'none';
  /** Stops the sweep between objects (the daemon closing). */
  signal?: AbortSignal;
}

/** A partial sweep lists the months that objects of this age and younger can sit in. */
const RECENT_SWEEP_SPAN_MS = 24 * 3600_000;

const BATCH = 500;

async function blobMatches(blobs: BlobStore, row: { bucket: string; s3_key: string; size: number; checksum: string }) {
  const info = await blobs.stat(row.bucket, row.s3_key);
  return info !== null && info.size === row.size && (await blobDigest(blobs, row.bucket, row.s3_key)) === row.checksum;
}

export async function recover(
  catalog: PhotoCatalog,
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
    foreignKept: 0,
    unidentifiedKept: 0,
    adoptableKept: 0,
    staleRecordsRemoved: 0,
  };

  const abortAge = uploadAbortAges(timing.orphanGraceMs);
  const pendingCutoff = new Date(now - timing.pendingTimeoutMs).toISOString();
  const own = timing.ownPendingTimeoutMs === undefined ? undefined : { olderThan: new Date(now - timing.ownPendingTimeoutMs).toISOString() };
  for (const row of await catalog.staleRows('pending', pendingCutoff, BATCH, own)) {
    if (timing.isInFlight?.(row.id)) continue;
    // A row inserted while its body was still arriving holds a placeholder digest
    // (DIGEST_NOT_YET_KNOWN) and never matches: that store was never acknowledged,
    // so rolling it back is right.
    // commitRecovered is 'key-taken' when a retry of the same idempotent store has been stored since: roll this one back.
    // 'settled': another daemon sharing the catalog recovered the row meanwhile; its blob is that daemon's business now.
    const commit = (await blobMatches(blobs, row)) ? await catalog.commitRecovered(row.id) : 'key-taken';
    if (commit === 'settled') continue;
    if (commit === 'committed') {
      report.pendingCommitted++;
      continue;
    }
    // The row turns `deleting` before its blob goes: a store still running (on a
    // shared catalog, another daemon's, past the timeout) can no longer commit a
    // row whose blob is being removed; it fails instead, and nothing dangles.
    if (!(await catalog.abandonPending(row.id))) continue;
    // By key too: after a MinIO restart, a bucket-wide listing no longer shows
    // a multipart upload the crashed store left, but asking by its key does.
    report.uploadsAborted += await blobs.abortIncompleteUploads(row.bucket, abortAge.abandoned, row.s3_key);
    await blobs.remove(row.bucket, row.s3_key);
    await catalog.deleteRow(row.id);
    report.pendingRolledBack++;
  }

  // A delete in progress removes its blob within moments; only touch ones that stalled.
  const deletingCutoff = new Date(now - Math.min(timing.pendingTimeoutMs, 60_000)).toISOString();
  const namespace = timing.namespace ?? DEFAULT_NAMESPACE;
  for (const row of await catalog.staleRows('deleting', deletingCutoff, BATCH)) {
    // The record first, as a delete does: a record left behind would name a photo that is gone (the sweep removes those too).
    await removeRecordOf(blobs, row.bucket, row.s3_key, namespace);
    await blobs.remove(row.bucket, row.s3_key);
    await catalog.deleteRow(row.id);
    report.deletesFinished++;
  }

  // On a shared catalog one daemon at a time lists the buckets; the others skip this pass's sweep.
  if (timing.sweep !== 'none') await catalog.runAlone('sweep', () => sweepBlobs(catalog, blobs, timing, report, logger, now));
  const acted = Object.values(report).some((n) => n > 0);
  (acted ? logger.info.bind(logger) : logger.debug.bind(logger))({ recovery: report }, 'recovery pass finished');
  return report;
}

async function sweepBlobs(
  catalog: PhotoCatalog,
  blobs: BlobStore,
  timing: RecoveryTiming,
  report: RecoveryReport,
  logger: Logger,
  now: number,
): Promise<void> {
  const namespace = timing.namespace ?? DEFAULT_NAMESPACE;
  const abortAge = uploadAbortAges(timing.orphanGraceMs);
  const orphanCutoff = now - timing.orphanGraceMs;
  let catalogEmpty: boolean | null = null;
  const prefixes = timing.sweep === 'recent'
    ? datedPrefixes(namespace, new Date(orphanCutoff - RECENT_SWEEP_SPAN_MS), new Date(now))
    : [''];
  for (const bucket of BUCKETS) {
    for (const prefix of prefixes) {
      for await (const blob of blobs.list(bucket, prefix)) {
        if (timing.signal?.aborted) return;
        if (blob.lastModified.getTime() > orphanCutoff) continue;
        const recordPhotoId = recordOwner(blob.key, namespace);
        if (recordPhotoId !== null) {
          const kind = await recordKind(catalog, blobs, bucket, blob.key, recordPhotoId);
          if (kind === 'unidentified') report.unidentifiedKept++;
          // Never over an empty catalog, as for photo objects: whatever happened there, an operator decides.
          if (kind === 'stale' && !(catalogEmpty ??= await catalog.isEmpty())) {
            await blobs.remove(bucket, blob.key);
            report.staleRecordsRemoved++;
          }
          continue;
        }
        // Stores insert their row before writing the blob, so a blob of ours without a row was never acknowledged,
        // provided this catalog is the one that was live when it was written (orphan-rule.ts).
        if (await catalog.isKnownBlob(bucket, blob.key)) continue;
        const kind = await unclaimedKind(catalog, blobs, bucket, blob.key, namespace);
        if (kind !== 'orphan') {
          report[KEPT[kind]]++;
          continue;
        }
        await blobs.remove(bucket, blob.key);
        report.orphansRemoved++;
      }
    }
    // An upload whose key a row names is 'claimed' (its store's, however long it runs) or
    // 'abandoned' (its row was rolled back above, the upload with it, by key): only 'unclaimed'
    // ones here, and only in our namespace: another application's uploads are its own business.
    report.uploadsAborted += await blobs.abortIncompleteUploads(
      bucket,
      abortAge.unclaimed,
      undefined,
      async (key) => keyOwner(key, namespace) === null || (await catalog.isKnownBlob(bucket, key)),
    );
  }
  if (report.adoptableKept > 0) {
    const catalogEmpty = await catalog.isEmpty();
    logger.warn(
      { adoptable: report.adoptableKept, catalogEmpty },
      catalogEmpty
        ? 'the catalog is empty but the blob store holds photos of storaged: nothing is removed; stop the daemon and run `storaged restore` (from a backup) or `storaged rebuild` (from the objects)'
        : 'objects of storaged with no row, written while this catalog was not live (a lost or restored catalog?): kept; `storaged check` lists them',
    );
  }
}
