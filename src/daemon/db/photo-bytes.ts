// What one photo costs in bytes, estimated from its row before it is parsed:
// in an answer (search pages are cut by it) and in the daemon's heap (the
// photo cache is bounded by it). A photo is small except for what callers
// fill: `metadata` (string pairs, bounded by the store's header), and
// `processing_metadata`, any JSON up to 64 KiB.
//
// Measured, not guessed:
// - As an answer, msgpack never takes more than JSON text for strings,
//   objects, arrays or integers, but a float takes 9 bytes where JSON may
//   write `0.1,` in 4: `[0.1,0.1,…]` grows by 2.25x. JSON answers (the
//   gateway) take at most the text.
// - Parsed, `[{},{},…]` of 64 KiB is ~1.3 MiB of heap (21,845 empty
//   objects): ~20x its text. Nothing parsed from JSON costs more per byte of
//   text than an empty object (2 bytes for a 56-byte object), so 28x bounds it.

import type { PhotoRecord } from './photo-row';

/** The answer bytes one search page may hold: half the socket's 1 MiB frame, so the bound holds with room to spare. */
export const MAX_PAGE_BYTES = 512 * 1024;

/** Ids, timestamps, numbers and every field's key, with msgpack or JSON framing: well under this in either form. */
const FIXED_FIELDS_BYTES = 1024;
const FLOAT_GROWTH = 2.25;
const PARSED_GROWTH = 28;
const STRING_HEAP_GROWTH = 2;

function textBytes(record: PhotoRecord): number {
  return (
    Buffer.byteLength(record.original_filename) +
    Buffer.byteLength(record.metadata) +
    (record.processing_error === null ? 0 : Buffer.byteLength(record.processing_error)) +
    record.mime_type.length
  );
}

/** An upper bound on the bytes of this photo in an answer, msgpack or JSON. */
export function answerBytes(record: PhotoRecord): number {
  const processing = record.processing_metadata === null ? 0 : record.processing_metadata.length * FLOAT_GROWTH;
  return FIXED_FIELDS_BYTES + textBytes(record) + processing;
}

/** An upper bound on the heap this photo takes once parsed (the photo cache's measure). */
export function heapBytes(record: PhotoRecord): number {
  const processing = record.processing_metadata === null ? 0 : record.processing_metadata.length * PARSED_GROWTH;
  return FIXED_FIELDS_BYTES + textBytes(record) * STRING_HEAP_GROWTH + processing;
}
