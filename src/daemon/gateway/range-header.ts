// The `Range` request header, read before the photo's size is known. One
// range only: a list of ranges, another unit or a malformed value is ignored
// and the whole photo is served (RFC 9110 §14.2 allows it).

export type RangeHeader =
  | { kind: 'whole' }
  /** `bytes=a-b` or `bytes=a-` (end absent). */
  | { kind: 'from'; start: number; end: number | undefined }
  /** `bytes=-n`: the last n bytes. */
  | { kind: 'suffix'; length: number };

const WHOLE: RangeHeader = { kind: 'whole' };

export function parseRangeHeader(header: string | undefined): RangeHeader {
  if (header === undefined) return WHOLE;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return WHOLE;
  // Digits past 2^53 are still a number far past any photo's end.
  const num = (digits: string) => Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
  if (m[1] === '') return { kind: 'suffix', length: num(m[2]!) };
  const start = num(m[1]!);
  const end = m[2] === '' ? undefined : num(m[2]!);
  // `a-b` with b < a is not a valid range: ignored, like any other malformed one.
  if (end !== undefined && end < start) return WHOLE;
  return { kind: 'from', start, end };
}

/** The inclusive byte span a range asks for in a photo of `size` bytes, or null when none of it exists (416). */
export function rangeWithin(range: RangeHeader, size: number): { start: number; end: number } | null {
  switch (range.kind) {
    case 'whole':
      return size === 0 ? { start: 0, end: -1 } : { start: 0, end: size - 1 };
    case 'suffix':
      return range.length === 0 || size === 0 ? null : { start: Math.max(0, size - range.length), end: size - 1 };
    case 'from':
      return range.start >= size ? null : { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
  }
}
