// Main side of the part transfer tasks: runs them on the pool (or, for a
// read that is one part, on the main thread), counts their bytes, and turns
// their failures into storaged errors.

import type { Piscina } from 'piscina';
import type { DownloadPartResult, DownloadPartTask, UploadPartResult, UploadPartTask } from '../../workers/task-types';
import { getObjectRange } from '../../s3/get-object-range';
import type { S3Endpoint } from '../../s3/s3-endpoint';
import { asTaskFailure } from '../../workers/failures';
import { metricsOf } from './pool-metrics';
import { fromTaskFailure, runTask } from './task-failure';

export async function uploadPartIn(pool: Piscina, task: UploadPartTask): Promise<UploadPartResult> {
  const result = await runTask(() => pool.run(task, { name: 'uploadPart' }) as Promise<UploadPartResult>);
  metricsOf(pool).bytesUploaded += result.size;
  return result;
}

export async function downloadPartIn(pool: Piscina, task: DownloadPartTask): Promise<DownloadPartResult> {
  const result = await runTask(() => pool.run(task, { name: 'downloadPart' }) as Promise<DownloadPartResult>);
  metricsOf(pool).bytesDownloaded += result.length;
  return result;
}

/**
 * The same download on the calling thread, through its own `endpoint`. For a
 * read that is one small part, the hop to a worker and back cost more than
 * the request itself, and minio-js with node:http's parser (the main thread's
 * other way to MinIO) about half again what this costs (issue 13,
 * gateway.download.200k.c16). Failures are classified as a worker's are.
 */
export async function downloadPartHere(pool: Piscina, endpoint: S3Endpoint, task: DownloadPartTask): Promise<DownloadPartResult> {
  let read;
  try {
    read = await getObjectRange(endpoint, task, task.into.subarray(0, task.end - task.start + 1));
  } catch (err) {
    throw fromTaskFailure(asTaskFailure(err, `read bytes ${task.start}-${task.end} of ${task.bucket}/${task.key} from MinIO at ${endpoint.where}`));
  }
  metricsOf(pool).bytesDownloaded += read.length;
  return { length: read.length, objectSize: read.objectSize };
}
