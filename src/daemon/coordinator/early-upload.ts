// A store whose blob starts going up while its body is still arriving. Once
// the spool holds more than the blob store's first part, and the bucket can no
// longer change as the body grows, the photo gets its id and its pending row
// (the durable intent recovery needs to undo an interrupted upload by its key),
// and the store's growing put follows the spool file from there. The caller's
// transfer and MinIO's then overlap instead of running one after the other.

import type { GrowingPut, GrowingPuts } from '../blobs/blob-store';
import type { ObjectIdentity } from '../blobs/object-identity';

export interface PendingPlace {
  id: string;
  bucket: string;
  key: string;
  /** ISO time the store began: the row's uploaded_at and the object's identity agree on it. */
  uploadedAt: string;
}

export interface EarlyStart {
  place: PendingPlace;
  /** The pending row's insert; the put starts once it is durable. */
  pending: Promise<void>;
  /** Written with the object; size and digest are not known yet. */
  identity: ObjectIdentity;
}

export interface BegunUpload extends EarlyStart {
  put: GrowingPut;
}

export class EarlyUpload {
  #begun: BegunUpload | null = null;

  /**
   * `start(bytes)` names the photo and inserts its pending row, or returns
   * null while that cannot be decided yet (type unknown, bucket unsettled).
   */
  constructor(
    private readonly puts: GrowingPuts,
    private readonly contentType: () => string,
    private readonly signal: AbortSignal,
    private readonly start: (bytes: number) => EarlyStart | null,
  ) {}

  /** The upload, once it has begun. */
  get begun(): BegunUpload | null {
    return this.#begun;
  }

  readonly onSpoolGrowth = (path: string, bytes: number): void => {
    if (this.#begun !== null) {
      this.#begun.put.grew(bytes);
      return;
    }
    if (bytes <= this.puts.fromBytes) return;
    const started = this.start(bytes);
    if (started === null) return;
    // Settled later by finish() or abort(); until then a failed insert must not go unhandled.
    started.pending.catch(() => undefined);
    const { bucket, key } = started.place;
    const target = { bucket, key, path, contentType: this.contentType(), signal: this.signal, identity: started.identity };
    const put = this.puts.open(target, started.pending);
    this.#begun = { ...started, put };
    put.grew(bytes);
  };
}

/**
 * The digest a pending row holds while its body is still arriving; the
 * schema wants 64 hex digits, and commitPending replaces it.
 */
export const DIGEST_NOT_YET_KNOWN = '0'.repeat(64);
