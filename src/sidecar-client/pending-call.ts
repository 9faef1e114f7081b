// One call of a client connection, from its send to its one outcome: the
// caller's promise settles exactly once, whichever of answer, timeout or
// connection failure comes first.

import { ClosedError } from '../protocol/errors';
import type { CreditGate } from '../protocol/credit-gate';
import type { Op } from '../protocol/messages';
import type { IncomingDownload } from './incoming-download';

export interface PendingCall {
  id: number;
  op: Op;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
  /** The call's bound on silence; for a download, also on its reader's (incoming-download.ts). */
  timeoutMs: number;
  credit: CreditGate | null;
  /** The caller's stream, destroyed if the call ends before the body is sent (as stream.pipeline would). */
  stream: { destroy(err?: Error): unknown; readableEnded?: boolean } | null;
  /** Answered with a download: true from the call on, the download itself once its head arrived. */
  download: IncomingDownload | boolean;
  /** Stops listening to the caller's signal, once the call has its outcome. */
  detach: (() => void) | null;
}

/** Ends the call with its answer or error; whatever comes later for it (a late answer, its timer) finds it settled. */
export function settle(call: PendingCall, err: Error | null, value?: unknown): void {
  if (call.settled) return;
  call.settled = true;
  if (call.timer) clearTimeout(call.timer);
  call.detach?.();
  call.credit?.close(err ?? new ClosedError('the call has been answered'));
  if (err) {
    if (call.stream && !call.stream.readableEnded) call.stream.destroy();
    call.reject(err);
  } else {
    call.resolve(value);
  }
}
