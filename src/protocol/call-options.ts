// Checks of the per-call options (photo-storage.ts CallOptions), shared by both
// transports so that a bad value fails alike on each.

import type { CallOptions } from './photo-storage';

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/** The call's timeout (or `fallback`), after checking what the caller passed. */
export function callTimeoutMs(call: CallOptions | undefined, fallback: number): number {
  if (call === undefined) return fallback;
  if (typeof call !== 'object' || call === null) throw new TypeError('call options must be an object { signal?, timeoutMs? }');
  const { signal, timeoutMs } = call;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('call.signal must be an AbortSignal');
  if (timeoutMs === undefined) return fallback;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`call.timeoutMs must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/** What an aborted call rejects with: the signal's reason, as fetch and undici do. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
