// Keeps each photo's update record (update-record.ts) equal to its row, on the
// SQLite engine, where the file is the only other copy of an update.
//
// An update is acknowledged only once its record is durable in the blob
// store: row updated → record written → answer. Updates and deletes of one
// photo run one at a time (a lock per photo id, held across both steps), so
// the record a photo ends with is the state of its last acknowledged update:
// two updates racing could otherwise land their records in the other order.
// One daemon writes an SQLite catalog, so a lock in this process is enough.
//
// When the record cannot be written, the update is undone (the row is set
// back to the state read before it, under the same lock) and the caller gets
// UNAVAILABLE, retryable: nothing changed, so the same patch can be sent
// again, processing transitions included.
//
// Every update marks its row `record_owed` in its own transaction, and the
// mark is cleared once the record is durable (migration 007). A daemon killed
// between the two, a failed put that landed after all, an undo that failed,
// or an update made before records existed all leave the mark, in the
// database, and settleOwed (each recovery pass, the first one right after
// start) writes those records from the rows.

import { UnavailableError } from '../../protocol/errors';
import type { Photo } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';
import type { Logger } from '../logger';
import { encodeRecord, patchOf, recordKeyFor, removeRecordOf, updateRecordOf } from './update-record';

/** What of the SQLite catalog the records need. */
export type RecordCatalog = Pick<Catalog, 'catalogId' | 'getPhoto' | 'applyUpdateRecord' | 'recordWritten' | 'owingRecords'>;

/** Owed records written by one recovery pass at most, so a pass over a just-upgraded catalog ends; the next goes on. */
const SETTLE_PER_PASS = 10_000;
const SETTLE_PAGE = 200;

export class UpdateRecords {
  /** The tail of each photo's queue of updates and deletes; absent when none runs. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #written = 0;
  #failed = 0;

  constructor(
    private readonly catalog: RecordCatalog,
    private readonly blobs: BlobStore,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  /** Records written and writes failed since start (tests, benchmarks). */
  stats(): { written: number; failed: number } {
    return { written: this.#written, failed: this.#failed };
  }

  /** Runs `work` once every earlier call for this photo has settled. */
  exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(id) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.#locks.set(id, tail);
    // The last one out leaves no entry behind: the map holds photos being updated, not every photo ever updated.
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return run;
  }

  /**
   * Applies an update (`apply`, the catalog's updateMetadata) and writes the
   * photo's record before resolving; see the head of this file for a failed write.
   */
  update(clientId: string, id: string, apply: () => Promise<Photo>): Promise<Photo> {
    return this.exclusive(id, async () => {
      // The state to go back to if the record cannot be written; null: apply will answer NOT_FOUND.
      const before = await this.catalog.getPhoto(clientId, id);
      const photo = await apply();
      try {
        await this.#write(photo);
      } catch (err) {
        this.#failed++;
        await this.#undo(clientId, id, before);
        this.logger.warn({ err, photoId: id }, 'update record not written: the update was undone and refused');
        throw new UnavailableError(
          `photo ${id} was not updated: its update record could not be written to the blob store (${(err as Error).message}); nothing changed, send the same update again once the blob store answers`,
          { cause: err, details: { photoId: id } },
        );
      }
      await this.#clearMark(photo);
      return photo;
    });
  }

  /**
   * Runs a delete of this photo (`work`, which marks the row deleting) in the
   * photo's queue, so no update's record lands after the delete removed it,
   * then removes the record. A record left behind by a failed removal names a
   * photo that is gone, and the sweep removes it (record-rule.ts).
   */
  delete<T extends { bucket: string; s3_key: string }>(id: string, work: () => Promise<T>): Promise<T> {
    return this.exclusive(id, async () => {
      const ref = await work();
      await removeRecordOf(this.blobs, ref.bucket, ref.s3_key, this.namespace).catch((err: unknown) => this.logger.warn({ err, photoId: id }, 'update record not removed; the sweep removes it'));
      return ref;
    });
  }

  /**
   * Writes the records the catalog marks owed, from their rows (each recovery
   * pass); resolves to how many were written. Stops at the first failure: the
   * blob store is most likely still away, and each try could wait out its
   * timeouts; the marks stay for the next pass.
   */
  async settleOwed(): Promise<number> {
    let settled = 0;
    const seen = new Set<string>();
    while (settled < SETTLE_PER_PASS) {
      // A row whose mark could not be cleared comes back in the next page: seen once a pass is enough.
      const page = (await this.catalog.owingRecords(SETTLE_PAGE)).filter((row) => !seen.has(row.id));
      if (page.length === 0) break;
      for (const row of page) {
        seen.add(row.id);
        try {
          await this.exclusive(row.id, async () => {
            const photo = await this.catalog.getPhoto(row.client_id, row.id);
            if (photo === null) return; // deleted meanwhile: the delete removed its record
            await this.#write(photo);
            await this.#clearMark(photo);
          });
        } catch (err) {
          this.logger.warn({ err, photoId: row.id }, 'owed update records still not written; the next recovery pass tries again');
          return settled;
        }
        settled++;
      }
    }
    if (settled > 0) this.logger.info({ records: settled }, 'owed update records written');
    return settled;
  }

  async #write(photo: Photo): Promise<void> {
    const key = recordKeyFor(photo.s3_key, this.namespace);
    // A photo key storaged did not make cannot be (every row's key comes from object-key.ts).
    if (key === null) throw new Error(`photo ${photo.id} has a key (${photo.s3_key}) no record can be named after`);
    const body = encodeRecord(updateRecordOf(photo, this.catalog.catalogId));
    await this.blobs.put(photo.bucket, key, { buffer: body }, body.length, 'application/json');
    this.#written++;
  }

  /** Clears the row's mark; a failure only leaves a record to write again, so it is told, not thrown. */
  async #clearMark(photo: Photo): Promise<void> {
    await this.catalog.recordWritten(photo.id, photo.updated_at).catch((err: unknown) =>
      this.logger.warn({ err, photoId: photo.id }, 'update record written, but its mark not cleared; it is written again later'),
    );
  }

  async #undo(clientId: string, id: string, before: Photo | null): Promise<void> {
    if (before === null) return;
    try {
      // Still marked owed: the failed put may have landed, so the record is rewritten from the row.
      await this.catalog.applyUpdateRecord(clientId, id, patchOf(before), before.updated_at, true);
    } catch (err) {
      // The row keeps the update the caller was told failed, marked owed by the update itself: its record follows the row later.
      this.logger.error({ err, photoId: id }, 'a refused update could not be undone in the catalog; its record is rewritten from the row later');
    }
  }
}
