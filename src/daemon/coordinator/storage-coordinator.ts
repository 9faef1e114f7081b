// The storage logic behind both doors. Stores and deletes follow the two-phase
// rule of DESIGN.md: a row is visible only once its blob is known to exist.
//   store:  receive body → row `pending` → put blob → row `committed` → answer
//   delete: row `deleting` → remove blob → remove row → answer
// Whatever a crash interrupts, recovery finishes or rolls back.

import { randomUUID } from 'node:crypto';
import { ChecksumMismatchError, ClosedError, NotFoundError, ValidationError, toStorageError } from '../../protocol/errors';
import { DEFAULT_URL_EXPIRY_SECONDS } from '../../protocol/limits';
import type { Photo, PhotoPage, PhotoResult, PhotoWithUrl, SearchResult } from '../../protocol/types';
import type { BlobSource, BlobStore } from '../blobs/blob-store';
import type { Catalog } from '../db/catalog';
import { receiveBody } from '../intake/receive-body';
import type { Logger } from '../logger';
import { chooseBucket } from '../validation/bucket-choice';
import { checkContent } from '../validation/content-check';
import { SNIFF_BYTES } from '../validation/content-sniffer';
import { validateStoreOptions } from '../validation/store-options';
import { contentInfo, resolveRange } from './byte-range';
import type { CallContext, Coordinator, PhotoContent } from './coordinator';
import { objectKey } from '../db/object-key';
import { currentSecond, PhotoAnswers } from './photo-answers';
import { parsePhotoId } from './photo-id';
import { StoreMetrics } from './store-metrics';
import { parseUrlExpiry } from './url-expiry';

export interface CoordinatorSettings {
  maxBodyBytes: number;
  allowedTypes: readonly string[];
  spoolDir: string;
  spoolThresholdBytes: number;
  /** Hashes a spooled body on the worker pool; inline hashing when absent. */
  hashFile?: (path: string, signal: AbortSignal) => Promise<string>;
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
    const { allowedTypes, maxBodyBytes } = this.settings;
    let received: Awaited<ReturnType<typeof receiveBody>> | null = null;
    try {
      const options = validateStoreOptions(rawOptions, ctx.clientId, { allowedTypes, maxBodyBytes });
      let mimeType = '';
      received = await receiveBody(body, {
        maxBytes: maxBodyBytes,
        spoolDir: this.settings.spoolDir,
        spoolThresholdBytes: this.settings.spoolThresholdBytes,
        headBytes: SNIFF_BYTES,
        signal: ctx.signal,
        ...(this.settings.hashFile === undefined ? {} : { hashFile: this.settings.hashFile }),
        onHead: (head) => {
          mimeType = checkContent(head, options.contentType, allowedTypes);
        },
      });
      if (options.size !== undefined && options.size !== received.size) {
        throw new ValidationError(`options.size says ${options.size} bytes but ${received.size} bytes arrived`);
      }
      if (options.sha256 !== undefined && options.sha256 !== received.sha256) {
        throw new ChecksumMismatchError(
          `sha256 of the received bytes (${received.sha256}) differs from options.sha256 (${options.sha256}); nothing was stored`,
        );
      }

      const id = randomUUID();
      const bucket = chooseBucket(mimeType, received.size);
      const key = objectKey(id, options.originalName, new Date());
      await this.catalog.insertPending({
        id,
        client_id: ctx.clientId,
        user_id: options.userId ?? null,
        session_id: options.sessionId ?? null,
        original_filename: options.originalName,
        mime_type: mimeType,
        bucket,
        s3_key: key,
        size: received.size,
        checksum: received.sha256,
        metadata: options.metadata ?? {},
      });
      this.#storesInFlight.add(id);
      let photo: Photo;
      try {
        photo = await this.#writeBlobAndCommit(ctx, id, bucket, key, received, mimeType);
      } finally {
        this.#storesInFlight.delete(id);
      }
      const s3_url = await this.blobs.presignedGetUrl(bucket, key, DEFAULT_URL_EXPIRY_SECONDS);

      this.metrics.recordStore(bucket, received.size, performance.now() - started);
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
      await received?.discard();
    }
  }

  /** Whether a store is between its pending insert and its answer (recovery leaves those alone). */
  isStoreInFlight(id: string): boolean {
    return this.#storesInFlight.has(id);
  }

  /** Puts the blob and commits the pending row; on any failure undoes both so nothing half-stored remains. */
  async #writeBlobAndCommit(
    ctx: CallContext,
    id: string,
    bucket: string,
    key: string,
    received: { source: BlobSource; size: number; sha256: string },
    mimeType: string,
  ): Promise<Photo> {
    try {
      await this.blobs.put(bucket, key, received.source, received.size, mimeType, received.sha256, ctx.signal);
      // A caller that vanished will never learn its id: roll back rather than keep an unreachable photo.
      if (ctx.signal.aborted) throw new ClosedError('the caller went away before the store was acknowledged');
      return await this.catalog.commitPending(id);
    } catch (err) {
      await this.#undoStore(id, bucket, key);
      throw err;
    }
  }

  async #undoStore(id: string, bucket: string, key: string): Promise<void> {
    // Each half on its own: when MinIO is down the blob removal fails too, and
    // the row must still go. A blob left behind without a row is an orphan,
    // which the sweep removes after the grace period.
    await this.blobs.remove(bucket, key).catch((err) => {
      this.logger.warn({ err, photoId: id, bucket, key }, 'could not remove the blob of a failed store; the orphan sweep will');
    });
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
