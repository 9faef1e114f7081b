// Memory for the upload chunk frames a socket receives. A chunk frame (256 KiB
// of body) always spans several socket reads, so the decoder joins it into
// memory of its own; taken from here, that memory comes back once the body's
// bytes are in the spool file (receiveBody), instead of being one more
// ArrayBuffer per chunk for V8 to collect.

import { CHUNK_BYTES, MAX_HEADER_BYTES } from '../../protocol/limits';
import { SlotPool } from './slot-pool';
import type { MemoryBudget } from './memory-budget';

/** A chunk frame's payload: CHUNK_BYTES of body and the few bytes of its envelope. */
const SLOT_BYTES = CHUNK_BYTES + 256;

/** Kept between stores: the credit windows of four stores at once (8 chunks each), ~8 MiB. */
const SPARE_SLOTS = 32;

const slots = new SlotPool(SLOT_BYTES, SPARE_SLOTS);

/**
 * Memory for a frame of n bytes that arrived in several reads (a
 * FrameDecoder's joinInto). Call heads and other frames up to
 * MAX_HEADER_BYTES are not worth a slot; they are never given back.
 */
export function joinFrameInto(n: number): Buffer {
  return n > MAX_HEADER_BYTES && n <= SLOT_BYTES ? slots.take().subarray(0, n) : Buffer.allocUnsafe(n);
}

/**
 * Gives back the frame memory `bytes` lies in, once nothing reads any bytes
 * of that frame any more. Bytes from anywhere else are ignored.
 */
export function giveFrameBack(bytes: Uint8Array): void {
  slots.give(bytes);
}

/**
 * Counts the spare frame slots in the memory budget and caps them at
 * `bytes` (at least one slot). Returns what stops it (the daemon's close).
 */
export function countSpareFramesIn(budget: MemoryBudget, bytes: number): () => void {
  slots.keepAtMost(Math.max(1, Math.floor(bytes / SLOT_BYTES)));
  slots.countIn(budget);
  return () => slots.leave(budget);
}

/** Frame slots made since start (not found spare). */
export function madeFrameSlots(): number {
  return slots.madeCount;
}

/** Frame slots lent to uploads now. */
export function lentFrameSlots(): number {
  return slots.lentCount;
}

/** Slots kept for reuse now (tests check that stores give theirs back). */
export function spareFrameSlots(): number {
  return slots.spareCount;
}
