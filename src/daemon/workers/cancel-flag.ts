// The main side of a transfer's cancel flag (see CancelFlag): one shared Int32
// that worker tasks check between chunks.

import type { CancelFlag } from '../../workers/task-types';

export function newCancelFlag(): CancelFlag {
  return new Int32Array(new SharedArrayBuffer(4));
}

export function raiseCancelFlag(flag: CancelFlag): void {
  Atomics.store(flag, 0, 1);
}
