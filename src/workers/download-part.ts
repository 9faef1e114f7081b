// Runs in a Piscina worker thread: an inclusive byte range of an object, read
// into the shared memory the main thread lent for it, so the bytes cross no
// thread boundary. The main thread never parses the HTTP response of a download.

import { asTaskFailure, failure } from './failures';
import { getObjectRange } from '../s3/get-object-range';
import { endpointFor, whereOf } from '../s3/s3-endpoint';
import type { DownloadPartResult, DownloadPartTask } from './task-types';

/** One part in memory; the orchestrator's part size is at most 512 MiB. */
const MAX_PART_BYTES = 512 * 1024 * 1024;

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
    // Exactly the range's room: an answer longer than asked is refused, not written past it.
    const read = await getObjectRange(endpointFor(task.settings), task, task.into.subarray(0, length));
    return { length: read.length, objectSize: read.objectSize };
  } catch (err) {
    throw asTaskFailure(err, action);
  }
}
