// Which incomplete multipart uploads recovery aborts. Recovery acts by this
// rule and `storaged check` reports by it, so what the check calls stale is
// what the next recovery pass aborts, and the two cannot drift apart.

import { isOlderThan } from '../blobs/blob-store';

/** What the catalog says about an upload's key. */
export type UploadClaim =
  /** No row names it: the store that began it lost its row, or it is none of ours. */
  | 'unclaimed'
  /**
   * A row names it whose store may still be writing (a pending row younger
   * than the pending timeout, however old the upload: a large body on a slow
   * link), or a committed or deleting row.
   */
  | 'claimed'
  /** A pending row older than the pending timeout names it: recovery rolls that store back, upload included. */
  | 'abandoned';

/** How old an upload must be before recovery aborts it, by the claim on its key; null: never. */
export function uploadAbortAges(orphanGraceMs: number): { unclaimed: number; abandoned: number; claimed: null } {
  return { unclaimed: orphanGraceMs, abandoned: 0, claimed: null };
}

/** Whether recovery aborts an upload begun at `initiated` with this claim on its key. */
export function isStaleUpload(initiated: Date, claim: UploadClaim, orphanGraceMs: number, now: number): boolean {
  const age = uploadAbortAges(orphanGraceMs)[claim];
  // The same cutoff the blob stores' abortIncompleteUploads applies.
  return age !== null && isOlderThan(initiated, age, now);
}

/** The claim on a key, from the pending row that names it (if any) and whether any row names it. */
export function uploadClaim(pendingRow: { stale: boolean } | null, namedByAnyRow: boolean): UploadClaim {
  if (pendingRow !== null) return pendingRow.stale ? 'abandoned' : 'claimed';
  return namedByAnyRow ? 'claimed' : 'unclaimed';
}
