// `storaged check`: what an operator asks when in doubt. Reports, without
// repairing anything (recovery repairs), whether the catalog and the blob
// store agree: rows left mid-store or mid-delete, committed photos whose
// object is missing or has the wrong size, objects no row names, incomplete
// multipart uploads (upload-check.ts), update records that do not hold their
// rows (record-check.ts), and with
// `verifyChecksums` every object's bytes against its recorded sha256 (bitrot).

import { BUCKETS } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { blobDigest } from '../recovery/blob-digest';
import { unclaimedKind } from '../recovery/orphan-rule';
import { DEFAULT_NAMESPACE } from '../db/object-key';
import { checkIncompleteUploads, type UploadReport } from './upload-check';
import { recordKind } from '../update-records/record-rule';
import { recordOwner } from '../update-records/update-record';
import { RecordComparisons, type RecordDisagreements } from './record-check';

export interface ObjectProblem {
  id: string;
  bucket: string;
  key: string;
  problem: 'missing' | 'size-mismatch' | 'checksum-mismatch';
  expected?: number | string;
  actual?: number | string;
}

export interface CheckReport {
  ok: boolean;
  rows: { pending: number; committed: number; deleting: number };
  /** Unfinished rows older than the pending timeout: recovery will finish or roll them back. */
  staleRows: { pending: number; deleting: number };
  committedChecked: number;
  bytesVerified: number;
  problems: ObjectProblem[];
  /** Objects no row names, older than the grace period, that recovery will remove (recovery/orphan-rule.ts). */
  orphans: UnclaimedObject[];
  /**
   * Objects of storaged's (identity and all) that no row names and that this
   * catalog did not write while live: photos of a lost catalog, or written after
   * the backup this one came from. Recovery keeps them; `storaged restore` or
   * `storaged rebuild` brings them back.
   */
  unadopted: UnclaimedObject[];
  /** Objects in the namespace (or legacy keys) that no row names and that carry no identity: kept, for an operator. */
  unidentified: UnclaimedObject[];
  /** Committed photos whose object carries no identity (stored before objects named themselves); a rebuild would miss them. */
  withoutIdentity: number;
  /** Objects outside the namespace (other applications', other daemons'): never touched. */
  foreignObjects: number;
  /** Objects no row names yet, younger than the grace period (possibly stores in progress). */
  youngUnclaimedObjects: number;
  /**
   * Update records (update-records/): `live` ones are their photos' (a row
   * names the photo), `ofUnadopted` ones belong to photos no row names yet
   * (rebuild/restore apply them), `stale` ones name a photo that is gone, row
   * and object, and past the grace period: recovery removes them (unless the
   * catalog is empty). Records that are not valid are listed as unidentified.
   * `owed`: photos whose latest update has no record yet (a write failed, or
   * the daemon stopped between row and record). Reported, not failed: the
   * daemon's next recovery pass writes them; a count that stays says the
   * blob store keeps refusing them.
   *
   * Each live record of a committed row not marked owed is read and compared
   * with its row (record-check.ts): `behind` are photos whose row holds an
   * update its record does not (older, other fields, or not a valid record):
   * a lost or restored catalog would lose it; `check --repair` rewrites those
   * records from their rows. `ahead` are photos whose record is newer than
   * their row: the catalog lacks an acknowledged update (a database file put
   * back by hand rather than restored); `storaged restore` brings it back.
   * Either fails the check.
   */
  updateRecords: {
    live: number;
    ofUnadopted: number;
    stale: UnclaimedObject[];
    owed: number;
    behind: RecordDisagreements;
    ahead: RecordDisagreements;
  };
  /** Incomplete multipart uploads; stale ones are what recovery will abort. */
  incompleteUploads: UploadReport;
}

export interface UnclaimedObject {
  bucket: string;
  key: string;
  size: number;
  lastModified: string;
}

export interface CheckOptions {
  verifyChecksums: boolean;
  /** STORAGED_NAMESPACE; `storaged` when absent. */
  namespace?: string;
  pendingTimeoutMs: number;
  orphanGraceMs: number;
  now?: number;
  /**
   * false: live update records are counted, not read (the check before it
   * compared them with their rows); what benchmarks measure the reading
   * against. Read by default.
   */
  compareRecords?: boolean;
}

const PAGE = 500;
/** Problems listed in full; past this only the count grows. */
const MAX_LISTED = 1000;

export async function checkConsistency(catalog: CatalogBookkeeping, blobs: BlobStore, options: CheckOptions): Promise<CheckReport> {
  const now = options.now ?? Date.now();
  const staleBefore = new Date(now - options.pendingTimeoutMs).toISOString();
  const report: CheckReport = {
    ok: true,
    rows: await catalog.countByState(),
    staleRows: {
      pending: await catalog.countStaleRows('pending', staleBefore),
      deleting: await catalog.countStaleRows('deleting', staleBefore),
    },
    committedChecked: 0,
    bytesVerified: 0,
    problems: [],
    orphans: [],
    unadopted: [],
    unidentified: [],
    withoutIdentity: 0,
    foreignObjects: 0,
    youngUnclaimedObjects: 0,
    updateRecords: {
      live: 0, ofUnadopted: 0, stale: [], owed: await catalog.countOwedRecords(), behind: { count: 0, ids: [] }, ahead: { count: 0, ids: [] },
    },
    incompleteUploads: { perBucket: {}, ofPendingRows: 0, stale: [], staleCount: 0, young: 0 },
  };
  let problemCount = 0;
  const problem = (p: ObjectProblem) => {
    problemCount++;
    if (report.problems.length < MAX_LISTED) report.problems.push(p);
  };

  for (let after = 0; ; ) {
    const page = await catalog.committedRowsAfter(after, PAGE);
    if (page.length === 0) break;
    for (const row of page) {
      after = row.seq;
      report.committedChecked++;
      const where = { id: row.id, bucket: row.bucket, key: row.s3_key };
      // Size and identity from one look: on MinIO each look is a HEAD, and asking twice doubled a check's round trips.
      const info = await blobs.head(row.bucket, row.s3_key);
      if (info === null) {
        problem({ ...where, problem: 'missing' });
        continue;
      }
      if (info.identity === null) report.withoutIdentity++;
      if (info.size !== row.size) {
        problem({ ...where, problem: 'size-mismatch', expected: row.size, actual: info.size });
      } else if (options.verifyChecksums) {
        const digest = await blobDigest(blobs, row.bucket, row.s3_key);
        report.bytesVerified += info.size;
        if (digest !== row.checksum) problem({ ...where, problem: 'checksum-mismatch', expected: row.checksum, actual: digest });
      }
    }
  }

  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  let unclaimedCount = 0;
  const records = new RecordComparisons(catalog, blobs, MAX_LISTED);
  for (const bucket of BUCKETS) {
    for await (const blob of blobs.list(bucket)) {
      const listed = { bucket, key: blob.key, size: blob.size, lastModified: blob.lastModified.toISOString() };
      const recordPhotoId = recordOwner(blob.key, namespace);
      if (recordPhotoId !== null) {
        const kind = await recordKind(catalog, blobs, bucket, blob.key, recordPhotoId);
        if (kind === 'live') {
          report.updateRecords.live++;
          if (options.compareRecords !== false) await records.add(bucket, blob.key, recordPhotoId, blob);
        } else if (kind === 'unadopted') report.updateRecords.ofUnadopted++;
        else if (kind === 'stale' && blob.lastModified.getTime() > now - options.orphanGraceMs) report.youngUnclaimedObjects++;
        else {
          unclaimedCount++;
          const list = kind === 'stale' ? report.updateRecords.stale : report.unidentified;
          if (list.length < MAX_LISTED) list.push(listed);
        }
        continue;
      }
      if (await catalog.isKnownBlob(bucket, blob.key)) continue;
      const kind = await unclaimedKind(catalog, blobs, bucket, blob.key, namespace);
      if (kind === 'foreign') {
        report.foreignObjects++;
        continue;
      }
      if (kind === 'orphan' && blob.lastModified.getTime() > now - options.orphanGraceMs) {
        report.youngUnclaimedObjects++;
        continue;
      }
      unclaimedCount++;
      const list = kind === 'orphan' ? report.orphans : kind === 'adoptable' ? report.unadopted : report.unidentified;
      if (list.length < MAX_LISTED) list.push(listed);
    }
  }

  await records.finish();
  report.updateRecords.behind = records.behind;
  report.updateRecords.ahead = records.ahead;

  report.incompleteUploads = await checkIncompleteUploads(catalog, blobs, { ...options, now, maxListed: MAX_LISTED });

  report.ok =
    problemCount === 0 &&
    unclaimedCount === 0 &&
    report.staleRows.pending === 0 &&
    report.staleRows.deleting === 0 &&
    records.behind.count === 0 &&
    records.ahead.count === 0 &&
    report.incompleteUploads.staleCount === 0;
  return report;
}
