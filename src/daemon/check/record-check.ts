// The check's look at what live update records hold (update-records/): each
// is read and compared with its row (recordStanding), since a record that
// does not hold its row's last update is an acknowledged update a lost or
// restored catalog would lose, and nothing else would tell before then.
//
// On MinIO a record whose listed ETag is the MD5 of the record this catalog
// would write from the row agrees without a read (record-rule.ts): the common
// case costs one SQLite point read and an MD5 of a few hundred bytes. Any
// other record, and every one on the local backend, is read (the listing
// gives its size, so no look first) and compared field by field. Those run a few at a time while
// the listing goes on: one at a time, a check of a catalog of many updated
// photos on MinIO waits out a round trip per record. Few enough that the
// check, which runs beside a serving daemon, never holds many of MinIO's
// connections or many records' bytes (each at most MAX_UPDATE_RECORD_BYTES).
//
// `check --repair` walks the records the same way and marks the rows of those
// behind owed, so settleOwed writes their records from the rows.

import { BUCKETS } from '../../protocol/types';
import type { BlobStore, ListedBlob } from '../blobs/blob-store';
import type { CatalogBookkeeping } from '../db/photo-catalog';
import { recordStanding, type RecordStanding } from '../update-records/record-rule';
import { recordOwner, recordPrefix } from '../update-records/update-record';

/** Records read at once. */
const READS_IN_FLIGHT = 8;

export interface RecordDisagreements {
  count: number;
  /** The first photos, by id (listed up to a cap; count counts them all). */
  ids: string[];
}

/** Compares live records with their rows, READS_IN_FLIGHT at a time. */
export class RecordComparisons {
  readonly behind: RecordDisagreements = { count: 0, ids: [] };
  readonly ahead: RecordDisagreements = { count: 0, ids: [] };
  readonly #running = new Set<Promise<void>>();
  #failure: { err: unknown } | null = null;

  constructor(
    private readonly catalog: Pick<CatalogBookkeeping, 'recordedRow' | 'catalogId'>,
    private readonly blobs: BlobStore,
    private readonly maxListed: number,
    /** Told of each comparison's outcome (the repair acts on them). */
    private readonly onStanding?: (photoId: string, standing: RecordStanding) => Promise<void>,
  ) {}

  /** Starts comparing one record; resolves once it is under way, waiting while READS_IN_FLIGHT are. */
  async add(bucket: string, key: string, photoId: string, listed: ListedBlob): Promise<void> {
    while (this.#running.size >= READS_IN_FLIGHT) await Promise.race(this.#running);
    this.#rethrow();
    const run = this.#compare(bucket, key, photoId, listed).catch((err: unknown) => {
      this.#failure ??= { err };
    });
    this.#running.add(run);
    void run.then(() => this.#running.delete(run));
  }

  /** Waits for every comparison; rejects with the first failure (the blob store or the catalog not answering). */
  async finish(): Promise<void> {
    await Promise.all(this.#running);
    this.#rethrow();
  }

  #rethrow(): void {
    if (this.#failure !== null) throw this.#failure.err;
  }

  async #compare(bucket: string, key: string, photoId: string, listed: ListedBlob): Promise<void> {
    const standing = await recordStanding(this.catalog, this.blobs, bucket, key, photoId, listed);
    const list = standing === 'behind' ? this.behind : standing === 'ahead' ? this.ahead : null;
    if (list !== null) {
      list.count++;
      if (list.ids.length < this.maxListed) list.ids.push(photoId);
    }
    await this.onStanding?.(photoId, standing);
  }
}

/**
 * `check --repair`: marks owed every row whose record is behind it, so the
 * caller's settleOwed writes those records from the rows. A record ahead of
 * its row is left alone: it holds an acknowledged update the row lacks, and
 * `storaged restore` (or rebuild) is what brings that back.
 */
export async function oweRecordsBehind(
  catalog: Pick<CatalogBookkeeping, 'recordedRow' | 'catalogId'> & { oweRecord(id: string): Promise<void> },
  blobs: BlobStore,
  namespace: string,
): Promise<RecordComparisons> {
  const comparisons = new RecordComparisons(catalog, blobs, 1000, async (photoId, standing) => {
    if (standing === 'behind') await catalog.oweRecord(photoId);
  });
  for (const bucket of BUCKETS) {
    for await (const blob of blobs.list(bucket, recordPrefix(namespace))) {
      const photoId = recordOwner(blob.key, namespace);
      if (photoId !== null) await comparisons.add(bucket, blob.key, photoId, blob);
    }
  }
  await comparisons.finish();
  return comparisons;
}
