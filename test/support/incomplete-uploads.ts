// The incomplete multipart uploads MinIO holds, as the tests' final checks see
// them. minio-js's listIncompleteUploads asks for every listed upload's parts
// and fails the whole listing with NoSuchUpload when one went away in between:
// MinIO lists an upload by its directory, which can outlive a completion or an
// abort by a moment. Such an upload is gone, which is what these checks want
// to know, so it is left out rather than failing the test.

import type * as Minio from 'minio';

export interface ListedUpload {
  key: string;
  uploadId: string;
  /** Bytes in the upload's parts so far. */
  size: number;
}

/** minio-js keeps listParts protected; its own listIncompleteUploads calls it the same way. */
type PartLister = { listParts(bucket: string, key: string, uploadId: string): Promise<Array<{ size: number }>> };

export async function incompleteUploadsOf(client: Minio.Client, bucket: string, prefix = ''): Promise<ListedUpload[]> {
  const found: ListedUpload[] = [];
  let keyMarker = '';
  let uploadIdMarker = '';
  for (;;) {
    const page = await client.listIncompleteUploadsQuery(bucket, prefix, keyMarker, uploadIdMarker, '');
    for (const upload of page.uploads) {
      let parts: Array<{ size: number }>;
      try {
        parts = await (client as unknown as PartLister).listParts(bucket, upload.key, upload.uploadId);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'NoSuchUpload') continue;
        throw err;
      }
      found.push({ key: upload.key, uploadId: upload.uploadId, size: parts.reduce((sum, p) => sum + p.size, 0) });
    }
    if (!page.isTruncated) return found;
    keyMarker = page.nextKeyMarker;
    uploadIdMarker = page.nextUploadIdMarker;
  }
}
