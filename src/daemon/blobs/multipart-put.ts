// A spooled body to MinIO as a multipart upload: parts go up in parallel from
// the file through the pool's threads (at most `concurrency` at once), each
// retried on transient failures, then the upload is completed and the
// object's size checked. On any failure, or when the caller's signal fires,
// the upload is aborted so that MinIO keeps no parts; if MinIO cannot be
// reached even for the abort, the upload is left for recovery's sweep of
// incomplete uploads (BlobStore.abortIncompleteUploads) and logged.
//
// The upload can start while the body is still arriving (GrowingMultipartPut):
// each full part goes up as soon as the spool file holds it, so the transfer to
// MinIO overlaps the transfer from the caller instead of following it.

import { ClosedError, StorageError, TooLargeError, ValidationError } from '../../protocol/errors';
import { newCancelFlag, raiseCancelFlag } from '../workers/cancel-flag';
import { uploadPartIn } from '../workers/part-tasks';
import { metricsOf } from '../workers/pool-metrics';
import { abortUpload, checkSize, completeUpload, type UploadTarget } from './multipart-steps';
import { minioCall, type PartTransfers } from './part-transfers';
import { identityHeaders, type ObjectIdentity } from './object-identity';
import { withRetries } from './transfer-retry';

const MAX_PARTS = 10_000;

export interface MultipartPutRequest extends UploadTarget {
  /** The spooled body. */
  path: string;
  /** Its size in bytes; the file must hold at least this many. */
  size: number;
  contentType: string;
  signal?: AbortSignal;
  /** Set at the upload's initiation: the object carries it once completed. */
  identity?: ObjectIdentity;
}

export interface MultipartPutResult {
  /** The object's ETag as MinIO reports it (not a digest of the bytes). */
  etag: string;
  size: number;
  parts: number;
}

export type GrowingPutRequest = Omit<MultipartPutRequest, 'size'>;

function cancelled(signal: AbortSignal | undefined): StorageError {
  const reason = signal?.reason;
  return reason instanceof StorageError ? reason : new ClosedError('the upload was cancelled before it completed');
}

/** How many parts `size` bytes take; refuses sizes S3 cannot take in parts of this size. */
function partsFor(size: number, partBytes: number): number {
  if (!Number.isSafeInteger(size) || size < 1) throw new ValidationError(`size must be a positive integer, got ${String(size)}`);
  const parts = Math.ceil(size / partBytes);
  if (parts > MAX_PARTS) {
    throw new TooLargeError(`${size} bytes need ${parts} parts of ${partBytes} bytes; S3 allows ${MAX_PARTS}: raise STORAGED_PART_BYTES`);
  }
  return parts;
}

/** The whole file, already complete: one multipart upload from start to end. */
export async function multipartPut(t: PartTransfers, req: MultipartPutRequest): Promise<MultipartPutResult> {
  partsFor(req.size, t.partBytes);
  if (req.signal?.aborted) throw cancelled(req.signal);
  return new GrowingMultipartPut(t, req).finish(req.size);
}

/**
 * A multipart upload fed while its spool file grows: `grew(bytes)` after each
 * write lets every full part go up, `finish(size)` once the body is complete
 * sends the rest and completes, `abort()` gives up. The upload is initiated at
 * construction, once `after` (e.g. the durable record of the intent) settles.
 */
export class GrowingMultipartPut {
  readonly #t: PartTransfers;
  readonly #req: GrowingPutRequest;
  readonly #stop = new AbortController();
  readonly #cancel = newCancelFlag();
  readonly #initiated: Promise<string>;
  readonly #running = new Set<Promise<void>>();
  readonly #etags: Array<{ part: number; etag: string }> = [];
  #uploadId: string | null = null;
  /** Full parts the file holds. */
  #ready = 0;
  /** All parts, once the size is known. */
  #total: number | null = null;
  #size = 0;
  #next = 0;
  #done = 0;
  #failure: unknown = null;
  #completed = false;
  #aborted: Promise<void> | null = null;
  #onSettled: (() => void) | null = null;

  constructor(t: PartTransfers, req: GrowingPutRequest, after?: Promise<unknown>) {
    this.#t = t;
    this.#req = req;
    req.signal?.addEventListener('abort', this.#halt, { once: true });
    this.#initiated = this.#initiate(after);
    // Failures surface through finish() or are dropped by abort(); never unhandled.
    this.#initiated.then(
      (id) => {
        this.#uploadId = id;
        this.#pump();
      },
      (err) => this.#fail(err),
    );
  }

  async #initiate(after: Promise<unknown> | undefined): Promise<string> {
    await after;
    const { bucket, key, contentType, identity } = this.#req;
    const headers = { 'Content-Type': contentType, ...(identity && identityHeaders(identity)) };
    return withRetries(this.#t.retry, this.#stop.signal, () =>
      minioCall(`start a multipart upload of ${bucket}/${key}`, () =>
        this.#t.writer.initiateMultipart(bucket, key, headers),
      ),
    );
  }

  /** The spool file now holds `bytes` bytes; more may follow. */
  grew(bytes: number): void {
    if (this.#total !== null) return;
    this.#ready = Math.floor(bytes / this.#t.partBytes);
    if (this.#ready > MAX_PARTS) {
      this.#fail(new TooLargeError(`the body needs more than ${MAX_PARTS} parts of ${this.#t.partBytes} bytes: raise STORAGED_PART_BYTES`));
      return;
    }
    this.#pump();
  }

  /** The body is complete at `size` bytes: sends what is left, completes the upload and checks the object's size. */
  async finish(size: number): Promise<MultipartPutResult> {
    try {
      const total = partsFor(size, this.#t.partBytes);
      if (total < this.#next) throw new ValidationError(`${size} bytes is less than the parts already sent`);
      this.#size = size;
      this.#total = total;
      this.#pump();
      await this.#settled();
      if (this.#failure !== null) throw this.#failure;
      if (this.#req.signal?.aborted) throw cancelled(this.#req.signal);
      const target = { bucket: this.#req.bucket, key: this.#req.key };
      const etag = await completeUpload(this.#t, target, this.#uploadId!, this.#etags, size);
      this.#completed = true;
      await checkSize(this.#t, target, size);
      return { etag, size, parts: total };
    } catch (err) {
      await this.abort();
      throw this.#req.signal?.aborted ? cancelled(this.#req.signal) : err;
    } finally {
      this.#req.signal?.removeEventListener('abort', this.#halt);
    }
  }

  /** Stops the parts, waits for those in flight, and aborts the upload. Safe to call more than once; never throws. */
  abort(): Promise<void> {
    this.#aborted ??= (async () => {
      this.#halt();
      this.#req.signal?.removeEventListener('abort', this.#halt);
      await Promise.allSettled(this.#running);
      const uploadId = await this.#initiated.catch(() => null);
      if (uploadId !== null && !this.#completed) await abortUpload(this.#t, this.#req, uploadId);
    })();
    return this.#aborted;
  }

  readonly #halt = (): void => {
    raiseCancelFlag(this.#cancel);
    this.#stop.abort();
    this.#checkSettled();
  };

  #fail(err: unknown): void {
    if (this.#failure === null) this.#failure = err;
    this.#halt();
  }

  #pump(): void {
    if (this.#uploadId === null || this.#failure !== null || this.#stop.signal.aborted) return;
    const limit = this.#total ?? this.#ready;
    while (this.#running.size < this.#t.concurrency && this.#next < limit) {
      const running = this.#sendPart(this.#next++);
      this.#running.add(running);
      void running.finally(() => {
        this.#running.delete(running);
        this.#pump();
        this.#checkSettled();
      });
    }
    this.#checkSettled();
  }

  async #sendPart(index: number): Promise<void> {
    const t = this.#t;
    const { bucket, key, path } = this.#req;
    const start = index * t.partBytes;
    const fullEnd = start + t.partBytes;
    const end = (this.#total !== null && index === this.#total - 1 ? this.#size : fullEnd) - 1;
    const task = { settings: t.settings, bucket, key, uploadId: this.#uploadId!, partNumber: index + 1, path, start, end, cancel: this.#cancel };
    try {
      const { etag } = await withRetries(t.retry, this.#stop.signal, () => uploadPartIn(t.pool, task), (err, attempt) => {
        metricsOf(t.pool).partRetries++;
        t.logger.warn({ bucket, key, part: index + 1, attempt, err: (err as Error).message }, 'retrying a part upload');
      });
      this.#etags[index] = { part: index + 1, etag };
      this.#done++;
    } catch (err) {
      this.#fail(err);
    }
  }

  #settled(): Promise<void> {
    return new Promise((resolve) => {
      this.#onSettled = resolve;
      this.#checkSettled();
    });
  }

  #checkSettled(): void {
    if (this.#onSettled === null || this.#running.size > 0) return;
    const stopped = this.#failure !== null || this.#stop.signal.aborted;
    if (!stopped && !(this.#total !== null && this.#done === this.#total)) return;
    const resolve = this.#onSettled;
    this.#onSettled = null;
    resolve();
  }
}
