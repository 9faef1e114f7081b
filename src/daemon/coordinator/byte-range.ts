// Turns a caller's range request into the bytes to serve, against the photo's
// real size. Ends are inclusive, as in HTTP, so the gateway maps 1:1.

import { RangeNotSatisfiableError, ValidationError } from '../../protocol/errors';
import type { Photo, PhotoContentInfo } from '../../protocol/types';

export interface ResolvedRange {
  start: number;
  end: number;
}

function offset(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`range.${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `raw` is `{ start?, end? }` off the wire; undefined means the whole photo. */
export function resolveRange(raw: unknown, size: number): ResolvedRange {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ValidationError('range must be an object { start?, end? }');
  }
  const fields = (raw ?? {}) as Record<string, unknown>;
  const unknownKey = Object.keys(fields).find((key) => key !== 'start' && key !== 'end');
  if (unknownKey !== undefined) throw new ValidationError(`range has an unknown field '${unknownKey}'`);
  const start = offset('start', fields['start']) ?? 0;
  const end = offset('end', fields['end']);
  if (end !== undefined && end < start) {
    throw new ValidationError(`range.end (${end}) is before range.start (${start})`);
  }
  if (start >= size) {
    throw new RangeNotSatisfiableError(`range starts at byte ${start} but the photo has ${size} bytes`, {
      details: { size },
    });
  }
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

/** What a read of `range` of `photo` delivers besides the bytes. */
export function contentInfo(photo: Photo, { start, end }: ResolvedRange): PhotoContentInfo {
  return {
    id: photo.id,
    mime_type: photo.mime_type,
    original_filename: photo.original_filename,
    checksum: photo.checksum,
    size: photo.size,
    start,
    end,
    length: end - start + 1,
  };
}
