// The processing_status lifecycle: queued → in_progress → completed | failed,
// with cancellation allowed until processing finishes. Finished is final.

import { ConflictError } from '../../protocol/errors';
import type { ProcessingStatus } from '../../protocol/types';

const NEXT: Record<ProcessingStatus, readonly ProcessingStatus[]> = {
  queued: ['in_progress', 'cancelled'],
  in_progress: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: ProcessingStatus, to: ProcessingStatus): boolean {
  return NEXT[from].includes(to);
}

export function assertTransition(from: ProcessingStatus, to: ProcessingStatus): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`cannot change processing_status from ${from} to ${to}`, { details: { from, to } });
  }
}

/** Statuses that end processing, and so stamp processing_completed_at. */
export function isFinished(status: ProcessingStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
