// A spooled body to MinIO as a multipart upload: parts go up in parallel from
// the file through the pool's threads (at most `concurrency` at once), each
// retried on transient failures, then the upload is completed and the
// object's size checked. On any failure, or when the caller's signal fires,
// the upload is aborted so that MinIO keeps no parts; if MinIO cannot be
// reached even for the abort, the upload is left for recovery's sweep of
// incomplete uploads (BlobStore.abortIncompleteUploads) and logged.

import { ClosedError, InternalError, StorageError, TooLargeError, ValidationError } from '../../protocol/errors';
import { newCancelFlag, raiseCancelFlag } from '../workers/cancel-flag';
import { uploadPartIn } from '../workers/part-tasks';
import { metricsOf } from '../workers/pool-metrics';
import { minioCall, type PartTransfers } from './part-transfers';
import { withRetries } from './transfer-retry';

const MAX_PARTS = 10_000;

export interface MultipartPutRequest {
  bucket: string;
  key: string;
  /** The spooled body. */
  path: string;
  /** Its size in bytes; the file must hold at least this many. */
  size: number;
  contentType: string;
  signal?: AbortSignal;
}

export interface MultipartPutResult {
  /** The object's ETag as MinIO reports it (not a digest of the bytes). */
  etag: string;
  size: number;
  parts: number;
}

function cancelled(signal: AbortSignal | undefined): StorageError {
  const reason = signal?.reason;
  return reason instanceof StorageError ? reason : new ClosedError('the upload was cancelled before it completed');
}

export async function multipartPut(t: PartTransfers, req: MultipartPutRequest): Promise<MultipartPutResult> {
  if (!Number.isSafeInteger(req.size) || req.size < 1) throw new ValidationError(`size must be a positive integer, got ${String(req.size)}`);
  const parts = Math.ceil(req.size / t.partBytes);
  if (parts > MAX_PARTS) {
    throw new TooLargeError(`${req.size} bytes need ${parts} parts of ${t.partBytes} bytes; S3 allows ${MAX_PARTS}: raise STORAGED_PART_BYTES`);
  }
  if (req.signal?.aborted) throw cancelled(req.signal);
  const where = `${req.bucket}/${req.key}`;
  const uploadId = await withRetries(t.retry, req.signal, () =>
    minioCall(`start a multipart upload of ${where}`, () =>
      t.client.initiateNewMultipartUpload(req.bucket, req.key, { 'Content-Type': req.contentType }),
    ),
  );

  // Stops the other parts (and their backoff) once one fails for good or the caller goes.
  const stop = new AbortController();
  const cancel = newCancelFlag();
  const halt = () => {
    raiseCancelFlag(cancel);
    stop.abort();
  };
  req.signal?.addEventListener('abort', halt, { once: true });
  let completed = false;
  try {
    const etags = await uploadParts(t, req, uploadId, parts, cancel, stop, halt);
    if (req.signal?.aborted) throw cancelled(req.signal);
    const etag = await completeUpload(t, req, uploadId, etags);
    completed = true;
    await checkSize(t, req);
    return { etag, size: req.size, parts };
  } catch (err) {
    halt();
    if (!completed) await abortUpload(t, req, uploadId);
    throw req.signal?.aborted ? cancelled(req.signal) : err;
  } finally {
    req.signal?.removeEventListener('abort', halt);
  }
}

async function uploadParts(
  t: PartTransfers,
  req: MultipartPutRequest,
  uploadId: string,
  parts: number,
  cancel: Int32Array,
  stop: AbortController,
  halt: () => void,
): Promise<Array<{ part: number; etag: string }>> {
  const metrics = metricsOf(t.pool);
  const etags: Array<{ part: number; etag: string }> = new Array(parts);
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (failure === null && !stop.signal.aborted && next < parts) {
      const index = next++;
      const start = index * t.partBytes;
      const end = Math.min(req.size, start + t.partBytes) - 1;
      const task = { settings: t.settings, bucket: req.bucket, key: req.key, uploadId, partNumber: index + 1, path: req.path, start, end, cancel };
      try {
        const { etag } = await withRetries(t.retry, stop.signal, () => uploadPartIn(t.pool, task), (err, attempt) => {
          metrics.partRetries++;
          t.logger.warn({ bucket: req.bucket, key: req.key, part: index + 1, attempt, err: (err as Error).message }, 'retrying a part upload');
        });
        etags[index] = { part: index + 1, etag };
      } catch (err) {
        if (failure === null) failure = err;
        halt();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(t.concurrency, parts) }, lane));
  if (failure !== null) throw failure;
  if (stop.signal.aborted) throw cancelled(req.signal);
  return etags;
}

async function completeUpload(
  t: PartTransfers,
  req: MultipartPutRequest,
  uploadId: string,
  etags: Array<{ part: number; etag: string }>,
): Promise<string> {
  const where = `${req.bucket}/${req.key}`;
  let triedBefore = false;
  return withRetries(t.retry, undefined, async () => {
    try {
      const done = await minioCall(`complete the multipart upload of ${where}`, () =>
        t.client.completeMultipartUpload(req.bucket, req.key, uploadId, etags),
      );
      return done.etag;
    } catch (err) {
      // A completion whose answer was lost: the retry finds the upload gone and the object there.
      if (triedBefore && err instanceof StorageError && err.code === 'NOT_FOUND') {
        const info = await minioCall(`stat ${where}`, () => t.client.statObject(req.bucket, req.key));
        if (info.size === req.size) return info.etag;
      }
      triedBefore = true;
      throw err;
    }
  });
}

/** MinIO assembled the parts; an object of another size means the plan or the file was wrong. */
async function checkSize(t: PartTransfers, req: MultipartPutRequest): Promise<void> {
  const where = `${req.bucket}/${req.key}`;
  const info = await withRetries(t.retry, undefined, () => minioCall(`stat ${where}`, () => t.client.statObject(req.bucket, req.key)));
  if (info.size === req.size) return;
  await minioCall(`remove ${where}`, () => t.client.removeObject(req.bucket, req.key)).catch(() => undefined);
  throw new InternalError(`MinIO holds ${info.size} bytes for ${where} after the multipart upload; ${req.size} were sent`);
}

async function abortUpload(t: PartTransfers, req: MultipartPutRequest, uploadId: string): Promise<void> {
  const where = `${req.bucket}/${req.key}`;
  try {
    await withRetries(t.retry, undefined, () =>
      minioCall(`abort the multipart upload of ${where}`, () => t.client.abortMultipartUpload(req.bucket, req.key, uploadId)),
    );
    metricsOf(t.pool).uploadsAborted++;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'NOT_FOUND') return;
    t.logger.warn(
      { bucket: req.bucket, key: req.key, uploadId, err: (err as Error).message },
      'could not abort a failed multipart upload; recovery will abort it',
    );
  }
}
