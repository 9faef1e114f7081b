// Incomplete multipart uploads of a MinIO bucket, a page of the listing at a
// time, so that a caller may abort what one page lists before the next is
// asked for. With a key, only that object's: MinIO lists an upload begun
// before its last restart only when asked for its exact key.

import type * as Minio from 'minio';
import type { IncompleteUpload } from './blob-store';
import { mapMinioError } from '../../s3/minio-errors';

export async function* incompleteUploadsIn(
  client: Minio.Client,
  where: string,
  bucket: string,
  key?: string,
): AsyncIterable<IncompleteUpload> {
  let keyMarker = '';
  let uploadIdMarker = '';
  for (;;) {
    let page: Awaited<ReturnType<Minio.Client['listIncompleteUploadsQuery']>>;
    try {
      page = await client.listIncompleteUploadsQuery(bucket, key ?? '', keyMarker, uploadIdMarker, '');
    } catch (err) {
      throw mapMinioError(err, where, `list incomplete uploads of ${bucket}`);
    }
    for (const upload of page.uploads) {
      // The key is a prefix to MinIO: another object's key may start with it.
      if (key !== undefined && upload.key !== key) continue;
      yield { key: upload.key, uploadId: upload.uploadId, initiated: new Date(upload.initiated) };
    }
    if (!page.isTruncated) return;
    keyMarker = page.nextKeyMarker;
    uploadIdMarker = page.nextUploadIdMarker;
  }
}
