// Runs in a Piscina worker thread: an inclusive byte range of an object, read
// into the shared memory the main thread lent for it, so the bytes cross no
// thread boundary. The main thread never parses the HTTP response of a download.

import { asTaskFailure, failure, throwIfCancelled } from './failures';
import { minioFor, whereOf } from './minio-per-thread';
import type { DownloadPartResult, DownloadPartTask } from './task-types';

/** One part in memory; the orchestrator's part size is at most 512 MiB. */
const MAX_PART_BYTES = 512 * 1024 * 1024;

/** "bytes 0-99/1234" → 1234. */
function objectSizeOf(contentRange: string | undefined, action: string): number {
  const match = /^bytes \d+-\d+\/(\d+)$/.exec(contentRange ?? '');
  if (match === null) throw failure('failed', `${action}: MinIO answered without a usable Content-Range (${String(contentRange)})`);
  return Number(match[1]);
}

export async function downloadPart(task: DownloadPartTask): Promise<DownloadPartResult> {
  const action = `read bytes ${task.start}-${task.end} of ${task.bucket}/${task.key} from MinIO at ${whereOf(task.settings)}`;
  try {
    const length = task.end - task.start + 1;
    if (!Number.isSafeInteger(task.start) || task.start < 0 || !Number.isSafeInteger(task.end) || length < 1 || length > MAX_PART_BYTES) {
      throw failure('invalid', `${action}: a part must be 1..${MAX_PART_BYTES} bytes at a non-negative offset`);
    }
    if (!(task.into instanceof Uint8Array) || task.into.length < length) {
      throw failure('invalid', `${action}: the memory given for the part holds fewer than ${length} bytes`);
    }
    throwIfCancelled(task.cancel);
    const res = await minioFor(task.settings).getPartialObject(task.bucket, task.key, task.start, length);
    const headers = (res as unknown as { headers: Record<string, string | undefined> }).headers;
    const objectSize = objectSizeOf(headers['content-range'], action);
    const bytes = task.into.subarray(0, Math.min(length, objectSize - task.start));
    let filled = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        throwIfCancelled(task.cancel);
        if (filled + chunk.length > bytes.length) throw failure('failed', `${action}: MinIO sent more bytes than the range holds`);
        bytes.set(chunk, filled);
        filled += chunk.length;
      }
    } finally {
      res.destroy();
    }
    if (filled !== bytes.length) throw failure('transient', `${action}: the response ended after ${filled} of ${bytes.length} bytes`);
    const result: DownloadPartResult = { length: filled, objectSize };
    return result;
  } catch (err) {
    throw asTaskFailure(err, action);
  }
}
