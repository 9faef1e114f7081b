// Stores with an idempotency key (StorePhotoOptions.idempotencyKey). In this
// process, stores of one client with one key run one after the other: a
// repeat that arrives while the first is still in flight waits for it, then
// finds its record (or, if the first failed, stores). A repeat of a recorded
// key is answered with the first result, once its body has arrived and shown
// it to be the same store; anything else under the key is a CONFLICT.

import { ConflictError } from '../../protocol/errors';
import { DEFAULT_URL_EXPIRY_SECONDS } from '../../protocol/limits';
import type { PhotoResult } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import { storeFingerprint, type KeyRecord, type StoreRequestFacts } from '../db/idempotency-keys';
import type { ValidatedStoreOptions } from '../validation/store-options';

export class KeyQueue {
  /** Per client and key: settles once every store that entered so far has left. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits until earlier stores with this key have finished (or `signal` aborts); call the returned function when done. */
  async enter(clientId: string, key: string, signal: AbortSignal): Promise<() => void> {
    const name = `${clientId}\u0000${key}`;
    const before = this.#tails.get(name);
    let leave!: () => void;
    const mine = new Promise<void>((resolve) => {
      leave = resolve;
    });
    const tail = before === undefined ? mine : before.then(() => mine);
    this.#tails.set(name, tail);
    const release = () => {
      leave();
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    };
    if (before !== undefined) {
      try {
        await untilAborted(before, signal);
      } catch (err) {
        release();
        throw err;
      }
    }
    return release;
  }

  /** Keys with a store in flight (tests). */
  get size(): number {
    return this.#tails.size;
  }
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** What this store asked for, in the terms its row records (pending-row.ts). */
export function requestFacts(options: ValidatedStoreOptions, mimeType: string, body: { size: number; sha256: string }): StoreRequestFacts {
  return {
    checksum: body.sha256,
    size: body.size,
    original_filename: options.originalName,
    mime_type: mimeType,
    user_id: options.userId ?? null,
    session_id: options.sessionId ?? null,
    metadata: options.metadata ?? {},
  };
}

/**
 * The first store's answer for a repeat of it, with a URL made now; CONFLICT
 * when the repeat asked for something else, or when the photo it stored has
 * been deleted since (`exists` says whether it is still there). Answering a
 * deleted photo's result would acknowledge a store whose bytes are gone;
 * storing it again would bring back what its owner deleted. The caller
 * decides, with a new key.
 */
export async function repeatAnswer(
  blobs: BlobStore,
  key: string,
  record: KeyRecord,
  facts: StoreRequestFacts,
  exists: (photoId: string) => Promise<boolean>,
): Promise<PhotoResult> {
  if (storeFingerprint(facts) !== record.fingerprint) {
    throw new ConflictError(
      `idempotency key ${JSON.stringify(key)} was used at ${record.createdAt} for a different store (photo ${record.photoId}): ` +
        'the body or the options differ; use a new key for a new store',
      { details: { photoId: record.photoId } },
    );
  }
  if (!(await exists(record.photoId))) {
    throw new ConflictError(
      `idempotency key ${JSON.stringify(key)} stored photo ${record.photoId} at ${record.createdAt}, which has been deleted since; ` +
        'nothing was stored: use a new key to store it again',
      { details: { photoId: record.photoId, deleted: true } },
    );
  }
  const { result } = record;
  const s3_url = await blobs.presignedGetUrl(result.bucket, result.s3_key, DEFAULT_URL_EXPIRY_SECONDS, {
    filename: result.original_filename,
    mimeType: result.mime_type,
  });
  return {
    id: result.id,
    s3_key: result.s3_key,
    s3_url,
    bucket: result.bucket,
    size: result.size,
    checksum: result.checksum,
    processing_status: result.processing_status,
    created_at: result.created_at,
  };
}
