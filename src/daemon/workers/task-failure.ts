// Main side of task errors: a worker's TaskFailure (or Piscina's own error when
// a thread dies) becomes the storaged error a caller can act on.

import {
  ChecksumMismatchError,
  ClosedError,
  InternalError,
  NotFoundError,
  RangeNotSatisfiableError,
  StorageError,
  UnavailableError,
  ValidationError,
} from '../../protocol/errors';
import { isTaskFailure } from '../../workers/task-types';

export function fromTaskFailure(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  if (!isTaskFailure(err)) {
    // A thread that crashed or a pool that is closing: nothing the caller did.
    return new InternalError('a worker thread failed', { cause: err });
  }
  const details = err.code === undefined ? undefined : { code: err.code };
  const opts = details === undefined ? {} : { details };
  switch (err.kind) {
    case 'transient':
      return new UnavailableError(err.message, opts);
    case 'invalid':
      return new ValidationError(err.message, opts);
    case 'not-found':
      return new NotFoundError(err.message, opts);
    case 'range':
      return new RangeNotSatisfiableError(err.message, opts);
    case 'checksum':
      return new ChecksumMismatchError(err.message, opts);
    case 'cancelled':
      return new ClosedError(err.message, opts);
    case 'failed':
      return new InternalError(err.message, opts);
  }
}

/** Runs a pool task and rethrows its failure as a storaged error. */
export async function runTask<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw fromTaskFailure(err);
  }
}
