// Runs in a Piscina worker thread: an inclusive byte range of an object, read
// into one ArrayBuffer that is then moved to the main thread (transferred,
// not copied). The main thread never parses the HTTP response of a download.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import { asTaskFailure, failure } from './failures';
import { getObjectRange } from './s3/get-object-range';
import { endpointFor, whereOf } from './s3/s3-endpoint';
import type { DownloadPartResult, DownloadPartTask } from './task-types';

/** One part in memory; the orchestrator's part size is at most 512 MiB. */
const MAX_PART_BYTES = 512 * 1024 * 1024;

export async function downloadPart(task: DownloadPartTask): Promise<unknown> {
  const action = `read bytes ${task.start}-${task.end} of ${task.bucket}/${task.key} from MinIO at ${whereOf(task.settings)}`;
  try {
    const length = task.end - task.start + 1;
    if (!Number.isSafeInteger(task.start) || task.start < 0 || !Number.isSafeInteger(task.end) || length < 1 || length > MAX_PART_BYTES) {
      throw failure('invalid', `${action}: a part must be 1..${MAX_PART_BYTES} bytes at a non-negative offset`);
    }
    const part = new Uint8Array(length);
    const read = await getObjectRange(endpointFor(task.settings), task, part);
    // The last part of an object read whole may be shorter than asked.
    const result: DownloadPartResult = { bytes: read.length === length ? part : part.subarray(0, read.length), objectSize: read.objectSize };
    // Piscina moves the transferable part and hands the main thread the value.
    return move({ [transferableSymbol]: part.buffer, [valueSymbol]: result } as unknown as ArrayBuffer);
  } catch (err) {
    throw asTaskFailure(err, action);
  }
}
