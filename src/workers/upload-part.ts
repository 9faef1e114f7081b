// Runs in a Piscina worker thread: one part of a multipart upload, read from
// the spooled file. The range is read twice — once to hash it for the SigV4
// signature, once as the request body — so a part never sits in memory whole
// (16 MiB × parts in flight × concurrent stores would); the second read comes
// from the page cache. MinIO checks the signed digest, so bytes that change
// on the way are refused rather than stored.

import * as fs from 'node:fs';
import { finished } from 'node:stream/promises';
import { asTaskFailure, failure, throwIfCancelled } from './failures';
import { hashRange, openRange } from './file-range';
import { RangeReader } from './range-reader';
import { minioFor, whereOf } from './minio-per-thread';
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
    let digest = '';
    try {
      // Over TLS minio-js signs UNSIGNED-PAYLOAD (TLS guards the bytes in transit).
      if (!task.settings.useSSL) digest = hashRange(range, task.cancel);
    } catch (err) {
      fs.closeSync(range.fd);
      throw err;
    }
    body = new RangeReader(range, task.cancel);
    const client = minioFor(task.settings);
    const res = await client.makeRequestStreamAsync(
      {
        method: 'PUT',
        bucketName: task.bucket,
        objectName: task.key,
        query: `uploadId=${encodeURIComponent(task.uploadId)}&partNumber=${task.partNumber}`,
        headers: { 'Content-Length': size },
      },
      body,
      digest,
      [200],
      task.settings.region,
    );
    res.resume();
    await finished(res);
    const etag = String(res.headers.etag ?? '').replace(/^"|"$/g, '');
    if (etag === '') throw failure('failed', `${action}: MinIO answered without an ETag`);
    return { etag, size };
  } catch (err) {
    if ((err as { cancelled?: unknown }).cancelled === true) throw failure('cancelled', `${action}: cancelled`);
    throw asTaskFailure(err, action);
  } finally {
    body?.destroy();
  }
}
