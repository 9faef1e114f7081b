// Storing a photo, the two-phase way of DESIGN.md: receive the body, insert
// the row `pending`, put the blob, commit the row, answer; on any failure undo
// both halves, or leave the row pending for recovery when the blob side cannot
// be cleaned. A large body's blob starts going up while it still arrives
// (early-upload.ts), so its pending row may come before the body is complete.

import { randomUUID } from 'node:crypto';
import { ChecksumMismatchError, ClosedError, NotFoundError, StorageError, UnavailableError, ValidationError, toStorageError } from '../../protocol/errors';
import { CHUNK_BYTES, DEFAULT_URL_EXPIRY_SECONDS, UPLOAD_WINDOW_CHUNKS } from '../../protocol/limits';
import type { Photo, PhotoResult } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import type { ObjectIdentity } from '../blobs/object-identity';
import type { PhotoCatalog } from '../db/photo-catalog';
import { objectKey } from '../db/object-key';
import { receiveBody, type ReceivedBody } from '../intake/receive-body';
import { MAX_QUEUED_BYTES } from '../intake/spool-file';
import type { Logger } from '../logger';
import type { MemoryShare } from '../memory/memory-budget';
import { BodyBudget, uniformBodyLimits } from '../validation/body-limits';
import { chooseBucket } from '../validation/bucket-choice';
import { checkContent } from '../validation/content-check';
import { SNIFF_BYTES } from '../validation/content-sniffer';
import { validateStoreOptions, type ValidatedStoreOptions as StoreOptions } from '../validation/store-options';
import type { CallContext } from './coordinator';
import { DIGEST_NOT_YET_KNOWN, EarlyUpload, type BegunUpload, type EarlyStart, type PendingPlace } from './early-upload';
import { pendingRow } from './pending-row';
import { KeyQueue, repeatAnswer, requestFacts } from './repeated-stores';
import { KeyTakenError, type KeyRecord } from '../db/idempotency-keys';
import type { CoordinatorSettings } from './storage-coordinator';
import type { StoreMetrics } from './store-metrics';

/**
 * Resident memory a body held in memory costs, per byte of it: its frames or
 * request chunks, the joined buffer, the copies until collected (measured,
 * daemon-config.ts's spool threshold). Bodies past the spool threshold cost a
 * threshold's worth at most before they go to the file.
 */
const IN_MEMORY_COST = 4.5;

/**
 * What a body being spooled holds in memory whatever the threshold: the
 * chunks its credit lets the client send ahead, those queued behind the
 * spool file's write and those in that write (spool-file.ts), each in a
 * socket frame slot of a chunk and its envelope. At a small budget's small
 * threshold this is more than 4.5x the threshold: 24 socket stores of 8 MiB
 * under a 48 MiB budget held up to 84 frame slots (21 MiB) beside the
 * download parts that filled the rest of the budget (issue 13).
 */
export const SPOOLING_BODY_BYTES = (UPLOAD_WINDOW_CHUNKS + 2 * Math.ceil(MAX_QUEUED_BYTES / CHUNK_BYTES) + 2) * (CHUNK_BYTES + 256);

/** A store's share of the memory budget: what its body may cost while in memory or on its way to the spool file. */
export function intakeBytes(declaredSize: number | undefined, spoolThresholdBytes: number): number {
  const held = Math.ceil(IN_MEMORY_COST * Math.min(declaredSize ?? spoolThresholdBytes, spoolThresholdBytes));
  const spooled = declaredSize === undefined || declaredSize > spoolThresholdBytes;
  return spooled ? Math.max(held, SPOOLING_BODY_BYTES) : held;
}

export class PhotoStore {
  /** Ids of stores between their pending insert and their answer. */
  readonly #storesInFlight = new Set<string>();
  /** Stores with an idempotency key, one at a time per client and key. */
  readonly #keys = new KeyQueue();

  constructor(
    private readonly catalog: PhotoCatalog,
    private readonly blobs: BlobStore,
    private readonly settings: CoordinatorSettings,
    private readonly logger: Logger,
    private readonly metrics: StoreMetrics,
  ) {}

  async store(ctx: CallContext, rawOptions: unknown, body: AsyncIterable<Uint8Array>): Promise<PhotoResult> {
    const started = performance.now();
    const { allowedTypes } = this.settings;
    const bodyLimits = this.settings.bodyLimits ?? uniformBodyLimits(this.settings.maxBodyBytes);
    let options: StoreOptions;
    let leave = () => {};
    try {
      options = validateStoreOptions(rawOptions, ctx.clientId, { allowedTypes, bodyLimits });
      // One store per key at a time: a repeat arriving while the first is in flight waits for its outcome.
      if (options.idempotencyKey !== undefined) leave = await this.#keys.enter(ctx.clientId, options.idempotencyKey, ctx.signal);
    } catch (err) {
      throw this.#failed(err);
    }
    let share: MemoryShare | null = null;
    try {
      share = (await this.settings.memoryBudget?.acquire(intakeBytes(options.size, this.settings.spoolThresholdBytes), ctx.signal)) ?? null;
    } catch (err) {
      leave();
      throw this.#failed(err);
    }
    try {
      const prior = options.idempotencyKey === undefined ? null : await this.catalog.storedUnderKey(ctx.clientId, options.idempotencyKey);
      return await this.#storeOnce(ctx, options, body, started, prior);
    } finally {
      share?.release();
      leave();
    }
  }

  #failed(err: unknown): StorageError {
    const error = toStorageError(err);
    this.metrics.recordFailure(error.code);
    return error;
  }

  /** One store; with `prior` (its key's record) the body is received only to be compared with the first store's. */
  async #storeOnce(
    ctx: CallContext,
    options: StoreOptions,
    body: AsyncIterable<Uint8Array>,
    started: number,
    prior: KeyRecord | null,
  ): Promise<PhotoResult> {
    const { allowedTypes } = this.settings;
    const bodyLimits = this.settings.bodyLimits ?? uniformBodyLimits(this.settings.maxBodyBytes);
    let received: ReceivedBody | null = null;
    let inFlightId: string | null = null;
    try {
      // A declared type fixes the limit now; otherwise the bytes' type narrows it once the head is in.
      // The budget checks every body as it arrives, so a refusal mid-stream names the kind as an up-front one does.
      const budget = new BodyBudget(bodyLimits, options.contentType);
      let mimeType = '';
      // A repeat stores nothing: no upload begins while its body arrives.
      const growing = prior === null ? this.blobs.growingPuts : null;
      const early =
        growing === null
          ? null
          : new EarlyUpload(growing, () => mimeType, ctx.signal, (bytes) => {
              const begun = this.#startEarly(ctx, options, mimeType, bytes);
              if (begun !== null) inFlightId = begun.place.id;
              return begun;
            });
      try {
        received = await receiveBody(body, {
          checkSize: (size) => budget.checkArriving(size),
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
        if (begun) await this.#undoStore(begun.place, begun);
        throw err;
      }

      const facts = () => requestFacts(options, mimeType, received!);
      const exists = async (photoId: string) => (await this.catalog.getPhoto(ctx.clientId, photoId)) !== null;
      if (prior !== null) return await repeatAnswer(this.blobs, options.idempotencyKey!, prior, facts(), exists);

      const begun = early?.begun ?? null;
      let place: PendingPlace;
      let identity: ObjectIdentity;
      if (begun !== null) {
        place = begun.place;
        identity = begun.identity;
      } else {
        place = this.#newPlace(options, chooseBucket(mimeType, received.size));
        inFlightId = place.id;
        identity = this.#identityOf(ctx, options, mimeType, place, { size: received.size, sha256: received.sha256 });
        await this.catalog.insertPending(pendingRow(ctx.clientId, options, mimeType, place, received.size, received.sha256));
      }
      let photo: Photo;
      try {
        photo = await this.#writeBlobAndCommit(ctx, place, received, mimeType, begun, identity);
      } catch (err) {
        if (!(err instanceof KeyTakenError)) throw err;
        // This store is undone: its key went to another photo meanwhile (recovery committed an earlier try of it).
        const record = await this.catalog.storedUnderKey(ctx.clientId, err.key);
        if (record === null) throw new UnavailableError('the idempotency key of this store changed hands while it ran; nothing was stored, retry');
        return await repeatAnswer(this.blobs, err.key, record, facts(), exists);
      }
      const s3_url = await this.blobs.presignedGetUrl(place.bucket, place.key, DEFAULT_URL_EXPIRY_SECONDS, {
        filename: options.originalName,
        mimeType,
      });

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
      throw this.#failed(err);
    } finally {
      // The spool file goes first: a store is over (isInFlight false) only once nothing of it is left here.
      await received?.discard();
      if (inFlightId !== null) this.#storesInFlight.delete(inFlightId);
    }
  }

  /** Whether a store is between its pending insert and its answer (recovery leaves those alone). */
  isInFlight(id: string): boolean {
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
    const place = this.#newPlace(options, bucket);
    // Size and digest are not known yet: commitPending sets them (pending rows are never shown).
    const pending = this.catalog.insertPending(pendingRow(ctx.clientId, options, mimeType, place, bytes, DIGEST_NOT_YET_KNOWN));
    return { place, pending, identity: this.#identityOf(ctx, options, mimeType, place, null) };
  }

  /** A new photo's id and object key, counted in flight from here until its store answers. */
  #newPlace(options: StoreOptions, bucket: string): PendingPlace {
    const id = randomUUID();
    this.#storesInFlight.add(id);
    const now = new Date();
    return { id, bucket, key: objectKey(id, options.originalName, now, this.settings.namespace), uploadedAt: now.toISOString() };
  }

  /** What the object will say about itself (object-identity.ts); `body` null while the body still arrives. */
  #identityOf(
    ctx: CallContext,
    options: StoreOptions,
    mimeType: string,
    place: PendingPlace,
    body: { size: number; sha256: string } | null,
  ): ObjectIdentity {
    return {
      id: place.id,
      catalogId: this.catalog.catalogId,
      clientId: ctx.clientId,
      userId: options.userId ?? null,
      sessionId: options.sessionId ?? null,
      originalFilename: options.originalName,
      mimeType,
      size: body?.size ?? null,
      sha256: body?.sha256 ?? null,
      uploadedAt: place.uploadedAt,
    };
  }

  /**
   * Puts the blob (or finishes the put that began early) and commits the pending row; on any failure
   * undoes both, unless the row turns out committed after all (then that is the answer) or its state
   * cannot be read (then recovery settles it).
   */
  async #writeBlobAndCommit(
    ctx: CallContext,
    place: PendingPlace,
    received: ReceivedBody,
    mimeType: string,
    begun: BegunUpload | null,
    identity: ObjectIdentity,
  ): Promise<Photo> {
    try {
      try {
        if (begun !== null) {
          await begun.pending;
          await begun.put.finish(received.size);
        } else {
          await this.blobs.put(place.bucket, place.key, received.source, received.size, mimeType, received.sha256, ctx.signal, identity);
        }
      } catch (err) {
        throw blobSideFailure(err);
      }
      // A caller that vanished will never learn its id: roll back rather than keep an unreachable photo.
      if (ctx.signal.aborted) throw new ClosedError('the caller went away before the store was acknowledged');
    } catch (err) {
      await this.#undoStore(place, begun);
      throw err;
    }
    let commitError: unknown;
    try {
      return await this.catalog.commitPending(place.id, begun === null ? undefined : { size: received.size, checksum: received.sha256 });
    } catch (err) {
      commitError = err;
    }
    // A failed commit is not always an uncommitted row. On a shared catalog another daemon's recovery
    // commits a pending row past the pending timeout once its object checks out, and a commit whose
    // answer was lost to an outage may have landed. Removing the object of a committed row would lose a
    // photo that get, search and its idempotency key all answer for, so the object goes only once the
    // catalog shows the row is not committed.
    //
    // Refused before it ran (a closed catalog), or rolled back with its key claim: certainly not committed.
    const notRun = commitError instanceof ClosedError || commitError instanceof KeyTakenError;
    let committed: Photo | null = null;
    try {
      if (!notRun) committed = await this.catalog.getPhoto(ctx.clientId, place.id);
    } catch (err) {
      this.logger.warn({ err, photoId: place.id }, 'a store whose commit failed cannot tell whether its row was committed; its object stays for recovery');
      throw commitError;
    }
    // Committed by recovery with the size and sha256 this store recorded: the store did succeed.
    if (committed !== null) return committed;
    await this.#undoStore(place, begun);
    // NOT_FOUND here names this store's own row, which recovery (another daemon's, on a shared catalog)
    // rolled back as abandoned: to the caller that is a store to retry, not a photo that is missing.
    if (commitError instanceof NotFoundError) {
      throw new UnavailableError(
        'this store ran longer than STORAGED_PENDING_TIMEOUT_S and recovery rolled it back; nothing was stored, retry (or raise the timeout above the slowest store)',
        { cause: commitError },
      );
    }
    throw commitError;
  }

  /** Undoes a failed store: its upload if one began early, its blob, its pending row. */
  async #undoStore({ id, bucket, key }: PendingPlace, begun: BegunUpload | null): Promise<void> {
    if (begun !== null) {
      await begun.put.abort();
      // Its row may still be on its way to the writer: discard it only once it is there.
      await begun.pending.catch(() => undefined);
    }
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
}

/**
 * NOT_FOUND from the blob side of a store names a bucket or a multipart upload
 * that went away under it (deleted, or aborted by someone else), not anything
 * the caller asked for: to them it is the store being unavailable, and a retry
 * may well succeed.
 */
function blobSideFailure(err: unknown): unknown {
  if (!(err instanceof StorageError) || err.code !== 'NOT_FOUND') return err;
  return new UnavailableError(`the blob store lost what this store was writing (${err.message}); nothing was stored, retry`, { cause: err });
}
