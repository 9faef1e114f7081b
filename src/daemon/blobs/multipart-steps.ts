// The main-thread steps that close a multipart upload: complete it, check what
// MinIO assembled, or abort it. Each is retried on transient failures.

import { InternalError, StorageError } from '../../protocol/errors';
import { metricsOf } from '../workers/pool-metrics';
import { minioCall, type PartTransfers } from './part-transfers';
import { withRetries } from './transfer-retry';

export interface UploadTarget {
  bucket: string;
  key: string;
}

export async function completeUpload(
  t: PartTransfers,
  target: UploadTarget,
  uploadId: string,
  etags: Array<{ part: number; etag: string }>,
  size: number,
): Promise<string> {
  const where = `${target.bucket}/${target.key}`;
  let triedBefore = false;
  return withRetries(t.retry, undefined, async () => {
    try {
      const done = await minioCall(`complete the multipart upload of ${where}`, () =>
        t.client.completeMultipartUpload(target.bucket, target.key, uploadId, etags),
      );
      return done.etag;
    } catch (err) {
      // A completion whose answer was lost: the retry finds the upload gone and the object there.
      if (triedBefore && err instanceof StorageError && err.code === 'NOT_FOUND') {
        const info = await minioCall(`stat ${where}`, () => t.client.statObject(target.bucket, target.key));
        if (info.size === size) return info.etag;
      }
      triedBefore = true;
      throw err;
    }
  });
}

/** MinIO assembled the parts; an object of another size means the plan or the file was wrong. */
export async function checkSize(t: PartTransfers, target: UploadTarget, size: number): Promise<void> {
  const where = `${target.bucket}/${target.key}`;
  const info = await withRetries(t.retry, undefined, () => minioCall(`stat ${where}`, () => t.client.statObject(target.bucket, target.key)));
  if (info.size === size) return;
  await minioCall(`remove ${where}`, () => t.client.removeObject(target.bucket, target.key)).catch(() => undefined);
  throw new InternalError(`MinIO holds ${info.size} bytes for ${where} after the multipart upload; ${size} were sent`);
}

export async function abortUpload(t: PartTransfers, target: UploadTarget, uploadId: string): Promise<void> {
  const where = `${target.bucket}/${target.key}`;
  try {
    await withRetries(t.retry, undefined, () =>
      minioCall(`abort the multipart upload of ${where}`, () => t.client.abortMultipartUpload(target.bucket, target.key, uploadId)),
    );
    metricsOf(t.pool).uploadsAborted++;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'NOT_FOUND') return;
    t.logger.warn(
      { bucket: target.bucket, key: target.key, uploadId, err: (err as Error).message },
      'could not abort a failed multipart upload; recovery will abort it',
    );
  }
}
