// Stopping a transfer from another thread (or from the caller's side on the
// same thread): a shared flag the reads check between chunks, and the error a
// stream or socket is destroyed with once they see it.

/**
 * An Int32Array over a SharedArrayBuffer: the main thread stores 1 to cancel.
 * Aborting a running Piscina task terminates its whole thread (and every other
 * task on it), so transfers check this flag between chunks instead.
 */
export type CancelFlag = Int32Array;

export function isCancelled(cancel: CancelFlag | undefined): boolean {
  return cancel !== undefined && Atomics.load(cancel, 0) !== 0;
}

/** What a stream or socket is destroyed with when the cancel flag is seen mid-transfer. */
export function cancelledError(): Error {
  return Object.assign(new Error('the transfer was cancelled'), { cancelled: true });
}
