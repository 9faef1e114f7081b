// The storage logic behind both doors. Stores and deletes follow the two-phase
// rule of DESIGN.md: a row is visible only once its blob is known to exist.
//   store:  receive body → row `pending` → put blob → row `committed` → answer
//           (photo-store.ts)
//   delete: row `deleting` → remove blob → remove row → answer; a blob that
//           cannot be removed leaves the row `deleting` and answers UNAVAILABLE
// Whatever a crash interrupts, recovery finishes or rolls back.

import type { ServedAs } from '../../s3/safe-serving';
import { ForbiddenError, NotFoundError, UnavailableError, type CallerMessage } from '../../protocol/errors';
import { DEFAULT_URL_EXPIRY_SECONDS } from '../../protocol/limits';
import type { DaemonStats, Photo, PhotoPage, PhotoResult, PhotoWithUrl, SearchResult } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { PhotoCatalog } from '../db/photo-catalog';
import type { SpoolHash } from '../intake/receive-body';
import type { Logger } from '../logger';
import type { BodyLimits } from '../validation/body-limits';
import { contentInfo, resolveRange } from './byte-range';
import type { CallContext, Coordinator, PhotoContent } from './coordinator';
import { currentSecond, PhotoAnswers } from './photo-answers';
import { parsePhotoId } from './photo-id';
import { PhotoStore } from './photo-store';
import type { MemoryBudget } from '../memory/memory-budget';
import { StoreMetrics } from './store-metrics';
import { parseUrlExpiry } from './url-expiry';
import type { UpdateRecords } from '../update-records/update-records';

export interface CoordinatorSettings {
  maxBodyBytes: number;
  /** Limits per kind of body; maxBodyBytes for every kind when absent. */
  bodyLimits?: BodyLimits;
  allowedTypes: readonly string[];
  spoolDir: string;
  spoolThresholdBytes: number;
  /** Hashes a spooled body on the worker pool while it arrives; inline hashing when absent. */
  hashSpool?: (path: string) => SpoolHash;
  /** First segment of every object key (STORAGED_NAMESPACE); `storaged` when absent. */
  namespace?: string;
  /** Each store takes its in-memory share from it first, waiting past it; none: unbounded. */
  memoryBudget?: MemoryBudget;
  /**
   * Each update's record in the blob store (update-records/), written before
   * the update is acknowledged: the SQLite engine's, whose file would
   * otherwise be an update's only copy. Null or absent (PostgreSQL, which is
   * itself the durable store): updates go to the catalog alone.
   */
  updateRecords?: UpdateRecords | null;
}

export class StorageCoordinator implements Coordinator {
  readonly metrics = new StoreMetrics();
  readonly #answers = new PhotoAnswers();
  readonly #stores: PhotoStore;
  readonly #records: UpdateRecords | null;
  /** The daemon's figures, set by the daemon once its parts exist (the socket, the HTTP listener and the pool are made after this). */
  statsSource: (() => Promise<DaemonStats>) | null = null;

  constructor(
    private readonly catalog: PhotoCatalog,
    private readonly blobs: BlobStore,
    settings: CoordinatorSettings,
    private readonly logger: Logger,
  ) {
    this.#stores = new PhotoStore(catalog, blobs, settings, logger, this.metrics);
    this.#records = settings.updateRecords ?? null;
  }

  storePhoto(ctx: CallContext, rawOptions: unknown, body: AsyncIterable<Uint8Array>): Promise<PhotoResult> {
    return this.#stores.store(ctx, rawOptions, body);
  }

  /** Whether a store is between its pending insert and its answer (recovery leaves those alone). */
  isStoreInFlight(id: string): boolean {
    return this.#stores.isInFlight(id);
  }

  async getPhoto(ctx: CallContext, rawId: unknown): Promise<PhotoWithUrl> {
    // Without an await when the catalog can tell at once (SQLite, or a cached photo): a hot getPhoto stays one promise.
    const photo = this.#photoNow(ctx, rawId) ?? (await this.#committedPhoto(ctx, rawId));
    const second = currentSecond();
    const made = this.#answers.get(photo, second);
    if (made !== undefined) return made;
    const s3_url = await this.blobs.presignedGetUrl(photo.bucket, photo.s3_key, DEFAULT_URL_EXPIRY_SECONDS, servedAs(photo));
    return this.#answers.make(photo, second, s3_url, DEFAULT_URL_EXPIRY_SECONDS);
  }

  madePhotoAnswer(ctx: CallContext, rawId: unknown): PhotoWithUrl | undefined {
    const photo = this.#photoNow(ctx, rawId);
    // undefined: the catalog has to be asked, which getPhoto does.
    return photo === undefined ? undefined : this.#answers.get(photo, currentSecond());
  }

  async readPhoto(ctx: CallContext, rawId: unknown, rawRange: unknown): Promise<PhotoContent> {
    const photo = await this.#committedPhoto(ctx, rawId);
    const range = resolveRange(rawRange, photo.size);
    const whole = range.start === 0 && range.end === photo.size - 1;
    const body = await this.blobs.read(photo.bucket, photo.s3_key, whole ? undefined : range, photo.size);
    return {
      info: contentInfo(photo, range),
      body,
    };
  }

  async getPhotoUrl(ctx: CallContext, rawId: unknown, rawExpiry: unknown): Promise<string> {
    const expiry = parseUrlExpiry(rawExpiry);
    const photo = await this.#committedPhoto(ctx, rawId);
    return this.blobs.presignedGetUrl(photo.bucket, photo.s3_key, expiry, servedAs(photo));
  }

  async updatePhotoMetadata(ctx: CallContext, rawId: unknown, patch: unknown): Promise<Photo> {
    const id = parsePhotoId(rawId);
    if (this.#records === null) return this.catalog.updateMetadata(ctx.clientId, id, patch);
    return this.#records.update(ctx.clientId, id, () => this.catalog.updateMetadata(ctx.clientId, id, patch));
  }

  async deletePhoto(ctx: CallContext, rawId: unknown): Promise<void> {
    const id = parsePhotoId(rawId);
    // A row already `deleting` (an earlier try that could not remove the object) comes back too: this try finishes it.
    const markDeleting = () => this.catalog.markDeleting(ctx.clientId, id);
    // With records, in the photo's queue: no update's record lands after the delete removed it.
    const ref = await (this.#records === null ? markDeleting() : this.#records.delete(id, markDeleting));
    // From here the photo is invisible. The delete is acknowledged only once its object is gone:
    // acknowledged before, a catalog lost while the object remained let `rebuild` bring the photo back.
    try {
      await this.blobs.remove(ref.bucket, ref.s3_key);
    } catch (err) {
      this.logger.warn({ err, photoId: id }, 'delete not confirmed: the photo is hidden, its object is still in the blob store');
      throw new DeleteNotConfirmed(id, err);
    }
    // The object is gone, so nothing can bring the photo back; a row left `deleting` is recovery's to remove.
    await this.catalog.deleteRow(id).catch((err: unknown) => this.logger.warn({ err, photoId: id }, 'deleted photo\'s row left for recovery to remove'));
    this.metrics.recordDelete();
  }

  async searchPhotos(ctx: CallContext, query: unknown): Promise<SearchResult> {
    return this.catalog.search(ctx.clientId, query ?? {});
  }

  async getUserPhotos(ctx: CallContext, userId: unknown, options: unknown): Promise<PhotoPage> {
    return this.catalog.userPhotos(ctx.clientId, userId, options ?? {});
  }

  /**
   * Admins only, as /metrics: the counts are of every client's photos, so a
   * tenant polling them would learn when others store and how much.
   */
  async daemonStats(ctx: CallContext): Promise<DaemonStats> {
    if (ctx.admin !== true) {
      throw new ForbiddenError('daemonStats needs an admin token (its figures span every client): give storagectl an admin token, as /metrics needs');
    }
    if (this.statsSource === null) throw new UnavailableError('the daemon is still starting');
    return this.statsSource();
  }

  /** The committed photo if the catalog can tell without waiting (NotFoundError when it has none), else undefined. */
  #photoNow(ctx: CallContext, rawId: unknown): Photo | undefined {
    const id = parsePhotoId(rawId);
    const photo = this.catalog.photoNow(ctx.clientId, id);
    if (photo === null) throw new NotFoundError(`photo ${id} not found`);
    return photo;
  }

  async #committedPhoto(ctx: CallContext, rawId: unknown): Promise<Photo> {
    const id = parsePhotoId(rawId);
    const now = this.catalog.photoNow(ctx.clientId, id);
    const photo = now === undefined ? await this.catalog.getPhoto(ctx.clientId, id) : now;
    if (photo === null) throw new NotFoundError(`photo ${id} not found`);
    return photo;
  }
}

function servedAs(photo: { original_filename: string; mime_type: string }): ServedAs {
  return { filename: photo.original_filename, mimeType: photo.mime_type };
}

/**
 * A delete that hid its photo but could not remove its object. The gateway's
 * caller gets the message without the blob store's own words (they may name
 * its address): that the photo is hidden and the same delete must be sent again.
 */
class DeleteNotConfirmed extends UnavailableError implements CallerMessage {
  readonly callerMessage: string;

  constructor(id: string, cause: unknown) {
    const what = `photo ${id} is hidden but not yet deleted: its object could not be removed from the blob store`;
    const todo = 'send the same delete again once the blob store answers (recovery also finishes it)';
    super(`${what} (${(cause as Error).message}); ${todo}`, { cause, details: { photoId: id, retryAfterSeconds: 1 } });
    this.name = 'DeleteNotConfirmed';
    this.callerMessage = `${what}; ${todo}`;
  }
}
