// The storage logic behind both doors. Stores and deletes follow the two-phase
// rule of DESIGN.md: a row is visible only once its blob is known to exist.
//   store:  receive body → row `pending` → put blob → row `committed` → answer
//   delete: row `deleting` → remove blob → remove row → answer
// Whatever a crash interrupts, recovery finishes or rolls back.

import { randomUUID } from 'node:crypto';
import { ChecksumMismatchError, ClosedError, NotFoundError, ValidationError, toStorageError } from '../../protocol/errors';
import { DEFAULT_URL_EXPIRY_SECONDS } from '../../protocol/limits';
import type { Photo, PhotoPage, PhotoResult, PhotoWithUrl, SearchResult } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';
import { receiveBody, type ReceivedBody, type SpoolHash } from '../intake/receive-body';
import type { Logger } from '../logger';
import { chooseBucket } from '../validation/bucket-choice';
import { checkContent } from '../validation/content-check';
import { SNIFF_BYTES } from '../validation/content-sniffer';
import { BodyBudget, uniformBodyLimits, type BodyLimits } from '../validation/body-limits';
import { validateStoreOptions, type ValidatedStoreOptions as StoreOptions } from '../validation/store-options';
import { DIGEST_NOT_YET_KNOWN, EarlyUpload, type BegunUpload, type EarlyStart, type PendingPlace } from './early-upload';
import { pendingRow } from './pending-row';
import { contentInfo, resolveRange } from './byte-range';
import type { CallContext, Coordinator, PhotoContent } from './coordinator';
import { objectKey } from '../db/object-key';
import { currentSecond, PhotoAnswers } from './photo-answers';
import { parsePhotoId } from './photo-id';
import { StoreMetrics } from './store-metrics';
import { parseUrlExpiry } from './url-expiry';

export interface CoordinatorSettings {
  maxBodyBytes: number;
  /** Limits per kind of body; maxBodyBytes for every kind when absent. */
  bodyLimits?: BodyLimits;
  allowedTypes: readonly string[];
  spoolDir: string;
  spoolThresholdBytes: number;
  /** Hashes a spooled body on the worker pool while it arrives; inline hashing when absent. */
  hashSpool?: (path: string) => SpoolHash;
}

export class StorageCoordinator implements Coordinator {
  readonly metrics = new StoreMetrics();
  /** Ids of stores between their pending insert and their answer. */
  readonly #storesInFlight = new Set<string>();
  readonly #answers = new PhotoAnswers();

  constructor(
    private readonly catalog: Catalog,
    private readonly blobs: BlobStore,
    private readonly settings: CoordinatorSettings,
    private readonly logger: Logger,
  ) {}

  async storePhoto(ctx: CallContext, rawOptions: unknown, body: AsyncIterable<Uint8Array>): Promise<PhotoResult> {
    const started = performance.now();
    const { allowedTypes } = this.settings;
    const bodyLimits = this.settings.bodyLimits ?? uniformBodyLimits(this.settings.maxBodyBytes);
    let received: ReceivedBody | null = null;
    let inFlightId: string | null = null;
    try {
      const options = validateStoreOptions(rawOptions, ctx.clientId, { allowedTypes, bodyLimits });
      // A declared type fixes the limit now; otherwise the bytes' type narrows it once the head is in.
      const budget = new BodyBudget(bodyLimits, options.contentType);
      let mimeType = '';
      const growing = this.blobs.growingPuts;
      const early =
        growing === null
          ? null
          : new EarlyUpload(growing, () => mimeType, ctx.signal, (bytes) => {
              const begun = this.#startEarly(ctx, options, mimeType, bytes);
              if (begun !== null) inFlightId = begun.place.id;
              return begun;
            });
      try {
        received = await receiveBody(options.contentType === undefined ? budget.guard(body) : body, {
          maxBytes: budget.limit,
          spoolDir: this.settings.spoolDir,
          spoolThresholdBytes: this.settings.spoolThresholdBytes,
          headBytes: SNIFF_BYTES,
          signal: ctx.signal,
          ...(this.settings.hashSpool === undefined ? {} : { hashSpool: this.settings.hashSpool }),
          ...(early === null ? {} : { onSpoolGrowth: early.onSpoolGrowth }),
          onHead: (head) => {
            mimeType = checkContent(head, options.contentType, allowedTypes);
            budget.narrowTo(mimeType, options.size);
          },
        });
        budget.check(received.size);
        if (options.size !== undefined && options.size !== received.size) {
          throw new ValidationError(`options.size says ${options.size} bytes but ${received.size} bytes arrived`);
        }
        if (options.sha256 !== undefined && options.sha256 !== received.sha256) {
          throw new ChecksumMismatchError(
            `sha256 of the received bytes (${received.sha256}) differs from options.sha256 (${options.sha256}); nothing was stored`,
          );
        }
      } catch (err) {
        const begun = early?.begun;
        if (begun) {
          await begun.put.abort();
          await begun.pending.catch(() => undefined);
          await this.#undoStore(begun.place);
        }
        throw err;
      }

      const begun = early?.begun ?? null;
      let place: PendingPlace;
      if (begun !== null) {
        place = begun.place;
      } else {
        const id = randomUUID();
        place = { id, bucket: chooseBucket(mimeType, received.size), key: objectKey(id, options.originalName, new Date()) };
        await this.catalog.insertPending(pendingRow(ctx.clientId, options, mimeType, place, received.size, received.sha256));
        inFlightId = id;
      }
      const photo = await this.#writeBlobAndCommit(ctx, place, received, mimeType, begun);
      const s3_url = await this.blobs.presignedGetUrl(place.bucket, place.key, DEFAULT_URL_EXPIRY_SECONDS);

      this.metrics.recordStore(place.bucket, received.size, performance.now() - started);
      return {
        id: photo.id,
        s3_key: photo.s3_key,
        s3_url,
        bucket: photo.bucket,
        size: photo.size,
        checksum: photo.checksum,
        processing_status: photo.processing_status,
        created_at: photo.created_at,
      };
    } catch (err) {
      const error = toStorageError(err);
      this.metrics.recordFailure(error.code);
      throw error;
    } finally {
      if (inFlightId !== null) this.#storesInFlight.delete(inFlightId);
      await received?.discard();
    }
  }

  /** Whether a store is between its pending insert and its answer (recovery leaves those alone). */
  isStoreInFlight(id: string): boolean {
    return this.#storesInFlight.has(id);
  }

  /**
   * Names a store whose body is still arriving and records its intent, once
   * its bucket can no longer change with its size; null until then.
   */
  #startEarly(ctx: CallContext, options: StoreOptions, mimeType: string, bytes: number): EarlyStart | null {
    if (mimeType === '') return null;
    const bucket = chooseBucket(mimeType, bytes);
    if (bucket !== chooseBucket(mimeType, Number.MAX_SAFE_INTEGER)) return null;
    const id = randomUUID();
    const place = { id, bucket, key: objectKey(id, options.originalName, new Date()) };
    this.#storesInFlight.add(id);
    // Size and digest are not known yet: commitPending sets them (pending rows are never shown).
    const pending = this.catalog.insertPending(pendingRow(ctx.clientId, options, mimeType, place, bytes, DIGEST_NOT_YET_KNOWN));
    return { place, pending };
  }

  /** Puts the blob (or finishes the put that began early) and commits the pending row; on any failure undoes both. */
  async #writeBlobAndCommit(
    ctx: CallContext,
    place: PendingPlace,
    received: ReceivedBody,
    mimeType: string,
    begun: BegunUpload | null,
  ): Promise<Photo> {
    try {
      if (begun !== null) {
        await begun.pending;
        await begun.put.finish(received.size);
      } else {
        await this.blobs.put(place.bucket, place.key, received.source, received.size, mimeType, received.sha256, ctx.signal);
      }
      // A caller that vanished will never learn its id: roll back rather than keep an unreachable photo.
      if (ctx.signal.aborted) throw new ClosedError('the caller went away before the store was acknowledged');
      return await this.catalog.commitPending(place.id, begun === null ? undefined : { size: received.size, checksum: received.sha256 });
    } catch (err) {
      await begun?.put.abort();
      await this.#undoStore(place);
      throw err;
    }
  }

  async #undoStore({ id, bucket, key }: PendingPlace): Promise<void> {
    // The blob side first: the object, and any multipart upload the put could
    // not abort itself. When MinIO is down neither can go, and the row must
    // then stay `pending`: it is what leads recovery to this key later, and
    // after a MinIO restart an upload is listed only when asked for by key.
    try {
      await this.blobs.remove(bucket, key);
      await this.blobs.abortIncompleteUploads(bucket, 0, key);
    } catch (err) {
      this.logger.warn({ err, photoId: id, bucket, key }, 'could not clean the blob side of a failed store; its row stays pending for recovery');
      return;
    }
    await this.catalog.discardPending(id).catch((err) => {
      // The row stays `pending`; recovery rolls it back once it is older than the pending timeout.
      this.logger.warn({ err, photoId: id }, 'could not discard the row of a failed store; recovery will');
    });
  }

  async getPhoto(ctx: CallContext, rawId: unknown): Promise<PhotoWithUrl> {
    const photo = this.#committedPhoto(ctx, rawId);
    const second = currentSecond();
    const made = this.#answers.get(photo, second);
    if (made !== undefined) return made;
    const s3_url = await this.blobs.presignedGetUrl(photo.bucket, photo.s3_key, DEFAULT_URL_EXPIRY_SECONDS);
    return this.#answers.make(photo, second, s3_url, DEFAULT_URL_EXPIRY_SECONDS);
  }

  madePhotoAnswer(ctx: CallContext, rawId: unknown): PhotoWithUrl | undefined {
    return this.#answers.get(this.#committedPhoto(ctx, rawId), currentSecond());
  }

  async readPhoto(ctx: CallContext, rawId: unknown, rawRange: unknown): Promise<PhotoContent> {
    const photo = this.#committedPhoto(ctx, rawId);
    const range = resolveRange(rawRange, photo.size);
    const whole = range.start === 0 && range.end === photo.size - 1;
    const body = await this.blobs.read(photo.bucket, photo.s3_key, whole ? undefined : range);
    return {
      info: contentInfo(photo, range),
      body,
    };
  }

  async getPhotoUrl(ctx: CallContext, rawId: unknown, rawExpiry: unknown): Promise<string> {
    const expiry = parseUrlExpiry(rawExpiry);
    const photo = this.#committedPhoto(ctx, rawId);
    return this.blobs.presignedGetUrl(photo.bucket, photo.s3_key, expiry);
  }

  async updatePhotoMetadata(ctx: CallContext, rawId: unknown, patch: unknown): Promise<Photo> {
    return this.catalog.updateMetadata(ctx.clientId, parsePhotoId(rawId), patch);
  }

  async deletePhoto(ctx: CallContext, rawId: unknown): Promise<void> {
    const id = parsePhotoId(rawId);
    const ref = await this.catalog.markDeleting(ctx.clientId, id);
    // From here the photo is invisible and the intent is durable: if removing the
    // blob fails, recovery finishes the delete, so the caller's delete stands.
    try {
      await this.blobs.remove(ref.bucket, ref.s3_key);
      await this.catalog.deleteRow(id);
    } catch (err) {
      this.logger.warn({ err, photoId: id }, 'delete left for recovery to finish');
    }
    this.metrics.recordDelete();
  }

  async searchPhotos(ctx: CallContext, query: unknown): Promise<SearchResult> {
    return this.catalog.search(ctx.clientId, query ?? {});
  }

  async getUserPhotos(ctx: CallContext, userId: unknown, options: unknown): Promise<PhotoPage> {
    return this.catalog.userPhotos(ctx.clientId, userId, options ?? {});
  }

  #committedPhoto(ctx: CallContext, rawId: unknown): Photo {
    const id = parsePhotoId(rawId);
    const photo = this.catalog.getPhoto(ctx.clientId, id);
    if (photo === null) throw new NotFoundError(`photo ${id} not found`);
    return photo;
  }
}
