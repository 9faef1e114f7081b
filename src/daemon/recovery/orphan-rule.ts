// What an object that no row names is, by the rule recovery removes orphans
// with (recovery.ts explains why the rule is safe); `storaged check` reports
// by the same rule, so what it calls an orphan is what recovery would remove.

import type { BlobStore } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { keyOwner } from '../db/object-key';

/**
 * - `foreign`: outside the namespace; another application's or daemon's, never touched;
 * - `unidentified`: in the namespace (or a legacy key) without storaged's identity, or one naming another photo;
 * - `adoptable`: storaged's, but not written while this catalog was live: a lost or restored catalog's photo;
 * - `orphan`: this catalog's unacknowledged leftover, removable once older than the grace period.
 */
export type UnclaimedKind = 'foreign' | 'unidentified' | 'adoptable' | 'orphan';

export async function unclaimedKind(catalog: CatalogBookkeeping, blobs: BlobStore, bucket: string, key: string, namespace: string): Promise<UnclaimedKind> {
  const owner = keyOwner(key, namespace);
  if (owner === null) return 'foreign';
  const identity = await blobs.identity(bucket, key);
  if (identity === null || identity.id !== owner.photoId) return 'unidentified';
  if (identity.catalogId !== catalog.catalogId || !(await catalog.wasLiveAt(identity.uploadedAt))) return 'adoptable';
  return 'orphan';
}
