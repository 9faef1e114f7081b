// getPhoto's answer for one photo is the same for every call within one
// second: both backends sign URLs with a whole-second time (SigV4's
// X-Amz-Date, the local signer's `expires`), so a URL made earlier in the
// same second is the URL a new signature would give. Under load a hot photo
// is asked for many times a second; making its answer once per second spares
// the signing, the copy of the photo and, through shared-answer.ts, the
// socket's encoding of it.
//
// Entries are keyed by the cached Photo object itself: every write that
// touches a photo evicts it from the catalog's cache, so the next read brings
// a new object and the old answer is never found again.

import type { Photo, PhotoWithUrl } from '../../protocol/types';
import { shareAnswer } from './shared-answer';

interface Answer {
  second: number;
  value: PhotoWithUrl;
}

export class PhotoAnswers {
  readonly #made = new WeakMap<Photo, Answer>();

  /** The answer made for this photo within `second`, if one was. */
  get(photo: Photo, second: number): PhotoWithUrl | undefined {
    const answer = this.#made.get(photo);
    return answer !== undefined && answer.second === second ? answer.value : undefined;
  }

  /**
   * Makes (and remembers) the answer with a URL signed at `second` or just
   * after it. The expiry given is counted from `second`, so it is never later
   * than the URL's own.
   */
  make(photo: Photo, second: number, url: string, expirySeconds: number): PhotoWithUrl {
    const value = shareAnswer({
      ...photo,
      s3_url: url,
      url_expires_at: new Date((second + expirySeconds) * 1000).toISOString(),
    });
    this.#made.set(photo, { second, value });
    return value;
  }
}

export function currentSecond(): number {
  return Math.floor(Date.now() / 1000);
}
