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
// again, processing transitions included. A put that failed may still have
// landed, and an undo may fail too: the photo is then owed a record, which
// its next update or the next recovery pass (settleOwed) writes from the row.

import { UnavailableError } from '../../protocol/errors';
import type { Photo } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';
import type { Logger } from '../logger';
import { encodeRecord, patchOf, recordKeyFor, recordOf } from './update-record';

/** What of the SQLite catalog the records need (an interface, so tests can hand a real Catalog only). */
export type RecordCatalog = Pick<Catalog, 'catalogId' | 'getPhoto' | 'applyUpdateRecord'>;

export class UpdateRecords {
  /** The tail of each photo's queue of updates and deletes; absent when none runs. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Photos whose record may differ from their row, with what finds the record again. */
  readonly #owed = new Map<string, { clientId: string; bucket: string; s3Key: string }>();
  #written = 0;
  #failed = 0;

  constructor(
    private readonly catalog: RecordCatalog,
    private readonly blobs: BlobStore,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  /** Records written and writes failed since start (tests, metrics). */
  stats(): { written: number; failed: number; owed: number } {
    return { written: this.#written, failed: this.#failed, owed: this.#owed.size };
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
        this.#owed.set(id, { clientId, bucket: photo.bucket, s3Key: photo.s3_key });
        await this.#undo(clientId, id, before);
        this.logger.warn({ err, photoId: id }, 'update record not written: the update was undone and refused');
        throw new UnavailableError(
          `photo ${id} was not updated: its update record could not be written to the blob store (${(err as Error).message}); nothing changed, send the same update again once the blob store answers`,
          { cause: err, details: { photoId: id } },
        );
      }
      this.#owed.delete(id);
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
      this.#owed.delete(id);
      await this.removeFor(ref.bucket, ref.s3_key).catch((err: unknown) => this.logger.warn({ err, photoId: id }, 'update record not removed; the sweep removes it'));
      return ref;
    });
  }

  /** Removes the record of the photo stored at bucket/photoKey (gone or never written: no error). */
  async removeFor(bucket: string, photoKey: string): Promise<void> {
    const key = recordKeyFor(photoKey, this.namespace);
    if (key !== null) await this.blobs.remove(bucket, key);
  }

  /**
   * Writes the records still owed (recovery's periodic pass); resolves to how
   * many are still owed. Stops at the first failure: the blob store is most
   * likely still away, and each try could wait out its timeouts.
   */
  async settleOwed(): Promise<number> {
    for (const [id, owed] of [...this.#owed]) {
      try {
        await this.exclusive(id, async () => {
          if (this.#owed.get(id) !== owed) return; // an update settled it meanwhile
          const photo = await this.catalog.getPhoto(owed.clientId, id);
          // Deleted since: the delete removed the record, or the sweep will.
          if (photo === null) await this.removeFor(owed.bucket, owed.s3Key);
          else await this.#write(photo);
          this.#owed.delete(id);
        });
      } catch (err) {
        this.logger.warn({ err, photoId: id, owed: this.#owed.size }, 'owed update records still not written; the next recovery pass tries again');
        break;
      }
    }
    return this.#owed.size;
  }

  async #write(photo: Photo): Promise<void> {
    const key = recordKeyFor(photo.s3_key, this.namespace);
    // A photo key storaged did not make cannot be (every row's key comes from object-key.ts).
    if (key === null) throw new Error(`photo ${photo.id} has a key (${photo.s3_key}) no record can be named after`);
    const body = encodeRecord(recordOf(photo, this.catalog.catalogId));
    await this.blobs.put(photo.bucket, key, { buffer: body }, body.length, 'application/json');
    this.#written++;
  }

  async #undo(clientId: string, id: string, before: Photo | null): Promise<void> {
    if (before === null) return;
    try {
      await this.catalog.applyUpdateRecord(clientId, id, patchOf(before), before.updated_at);
    } catch (err) {
      // The row keeps the update the caller was told failed; the owed record brings the two together again.
      this.logger.error({ err, photoId: id }, 'a refused update could not be undone in the catalog; its record is rewritten from the row later');
    }
  }
}
