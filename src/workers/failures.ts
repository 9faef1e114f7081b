// Worker side of task errors: whatever a task hits becomes a TaskFailure whose
// kind tells the main thread what to do (retry, give up, report NOT_FOUND, …).

import { isNotFound, isUnreachable } from '../s3/minio-errors';
import { isRetryableStatus } from '../s3/s3-error';
import { isCancelled, type CancelFlag } from '../s3/transfer-cancel';
import type { TaskFailure, TaskFailureKind } from './task-types';

export { cancelledError, isCancelled } from '../s3/transfer-cancel';

export function failure(kind: TaskFailureKind, message: string, code?: string): TaskFailure {
  return code === undefined ? { taskFailure: true, kind, message } : { taskFailure: true, kind, message, code };
}

export function throwIfCancelled(cancel: CancelFlag | undefined): void {
  if (isCancelled(cancel)) throw failure('cancelled', 'the transfer was cancelled');
}

/** S3 error codes that say the request itself was wrong for this object. */
const NOT_FOUND_CODES = new Set(['NoSuchBucket', 'NoSuchUpload']);

/**
 * Classifies what an S3 request (ours in s3/, or minio-js's on the main
 * thread) or the file under it threw. `action` names what was tried.
 */
export function asTaskFailure(err: unknown, action: string): TaskFailure {
  if (typeof err === 'object' && err !== null && (err as { taskFailure?: unknown }).taskFailure === true) {
    return err as TaskFailure;
  }
  if ((err as { cancelled?: unknown }).cancelled === true) return failure('cancelled', `${action}: cancelled`);
  const code = (err as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  const status = (err as { status?: unknown }).status;
  const reason = err instanceof Error ? err.message : String(err);
  if (typeof status === 'number' && isRetryableStatus(status)) return failure('transient', `${action}: ${reason}`, codeText);
  if (isUnreachable(err)) {
    // Node's messages name their code ("connect ECONNREFUSED 127.0.0.1:9000"); ours say more than it.
    const said = codeText === undefined || reason.includes(codeText) ? reason : `${codeText} (${reason})`;
    return failure('transient', `${action}: ${said}`, codeText);
  }
  if (isNotFound(err) || (codeText !== undefined && NOT_FOUND_CODES.has(codeText))) {
    return failure('not-found', `${action}: ${codeText}`, codeText);
  }
  if (codeText === 'InvalidRange') return failure('range', `${action}: the range starts past the object's end`, codeText);
  if (codeText === 'XAmzContentSHA256Mismatch' || codeText === 'BadDigest') {
    return failure('checksum', `${action}: MinIO received bytes that differ from the part's sha256`, codeText);
  }
  if (codeText === 'ENOENT') return failure('invalid', `${action}: the file does not exist`, codeText);
  return failure('failed', `${action}: ${reason}`, codeText);
}
