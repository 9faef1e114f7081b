// Runs in a Piscina worker thread: one part of a multipart upload, read from
// the spooled file. The range is read twice — once to hash it for the SigV4
// signature, once as the request body — so a part never sits in memory whole
// (16 MiB × parts in flight × concurrent stores would); the second read comes
// from the page cache. MinIO checks the signed digest, so bytes that change
// on the way are refused rather than stored.

import * as fs from 'node:fs';
import { asTaskFailure, failure, throwIfCancelled } from './failures';
import { hashRange, openRange } from './file-range';
import { RangeReader } from './range-reader';
import { endpointFor, whereOf } from '../s3/s3-endpoint';
import { putPart } from './s3/put-part';
import type { UploadPartResult, UploadPartTask } from './task-types';

const MAX_PART_NUMBER = 10_000;

export async function uploadPart(task: UploadPartTask): Promise<UploadPartResult> {
  const action = `upload part ${task.partNumber} of ${task.bucket}/${task.key} to MinIO at ${whereOf(task.settings)}`;
  let body: RangeReader | null = null;
  try {
    if (!Number.isInteger(task.partNumber) || task.partNumber < 1 || task.partNumber > MAX_PART_NUMBER) {
      throw failure('invalid', `part number must be 1..${MAX_PART_NUMBER}, got ${String(task.partNumber)}`);
    }
    throwIfCancelled(task.cancel);
    const range = openRange(task.path, task.start, task.end);
    const size = range.end - range.start + 1;
    let digest = 'UNSIGNED-PAYLOAD';
    try {
      // Over TLS the payload is not signed (TLS guards the bytes in transit), as minio-js did.
      if (!task.settings.useSSL) digest = hashRange(range, task.cancel);
    } catch (err) {
      fs.closeSync(range.fd);
      throw err;
    }
    body = new RangeReader(range, task.cancel);
    const etag = await putPart(endpointFor(task.settings), {
      bucket: task.bucket,
      key: task.key,
      uploadId: task.uploadId,
      partNumber: task.partNumber,
      body,
      size,
      payloadHash: digest,
    });
    return { etag, size };
  } catch (err) {
    throw asTaskFailure(err, action);
  } finally {
    body?.destroy();
  }
}
