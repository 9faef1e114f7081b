// The largest body a store accepts depends on what it holds: a phone video
// may be gigabytes where a photo is megabytes (STORAGED_MAX_IMAGE_BYTES,
// STORAGED_MAX_VIDEO_BYTES, STORAGED_MAX_FILE_BYTES). The kinds follow the
// buckets (bucket-choice.ts): image/*, video/*, anything else.

import { TooLargeError } from '../../protocol/errors';

export interface BodyLimits {
  image: number;
  video: number;
  file: number;
}

export type BodyKind = keyof BodyLimits;

export function bodyKindOf(mimeType: string): BodyKind {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('video/')) return 'video';
  return 'file';
}

/** The same limit for every kind (STORAGED_MAX_BODY_BYTES alone). */
export function uniformBodyLimits(maxBytes: number): BodyLimits {
  return { image: maxBytes, video: maxBytes, file: maxBytes };
}

export function largestBodyLimit(limits: BodyLimits): number {
  return Math.max(limits.image, limits.video, limits.file);
}

/** The limit for a body of this type; with no type known yet, the largest (the bytes decide later). */
export function bodyLimitFor(limits: BodyLimits, mimeType: string | undefined): number {
  return mimeType === undefined ? largestBodyLimit(limits) : limits[bodyKindOf(mimeType)];
}

export function tooLarge(size: number | null, limit: number, mimeType: string | undefined): TooLargeError {
  const what = size === null ? 'body exceeds' : `body of ${size} bytes exceeds`;
  const kind = mimeType === undefined ? '' : ` for ${bodyKindOf(mimeType)}s (${mimeType})`;
  return new TooLargeError(`${what} the limit of ${limit} bytes${kind}`, { details: { limit } });
}

/**
 * One body's limit: the declared type's from the start, or the largest until
 * the bytes say what they are (a store may leave its type to the sniffer).
 */
export class BodyBudget {
  #limit: number;
  #mimeType: string | undefined;

  constructor(
    private readonly limits: BodyLimits,
    declaredType: string | undefined,
  ) {
    this.#mimeType = declaredType;
    this.#limit = bodyLimitFor(limits, declaredType);
  }

  get limit(): number {
    return this.#limit;
  }

  /** The bytes' type is known: its limit applies, to the size the caller declared as well. */
  narrowTo(mimeType: string, declaredSize: number | undefined): void {
    this.#mimeType = mimeType;
    this.#limit = bodyLimitFor(this.limits, mimeType);
    if (declaredSize !== undefined) this.check(declaredSize);
  }

  check(size: number): void {
    if (size > this.#limit) throw tooLarge(size, this.#limit, this.#mimeType);
  }

  /** Refuses a body as soon as the bytes received so far pass the limit as it stands now (checked as each chunk arrives). */
  checkArriving(received: number): void {
    if (received > this.#limit) throw tooLarge(null, this.#limit, this.#mimeType);
  }
}
