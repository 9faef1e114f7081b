// The SigV4 signing key of one secret and region. It changes only with the
// day, and deriving it costs four HMACs, so it is derived once per day; the
// resulting key signs through HmacSha256, whose pads are computed once.

import { createHmac, hash } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256';

export class SigV4SigningKey {
  readonly #secretKey: string;
  readonly #region: string;
  #day = '';
  #key: HmacSha256 | null = null;

  constructor(secretKey: string, region: string) {
    this.#secretKey = secretKey;
    this.#region = region;
  }

  /** The credential scope of a day (YYYYMMDD). */
  scope(day: string): string {
    return `${day}/${this.#region}/s3/aws4_request`;
  }

  /** The hex signature of a canonical request made at `stamp` (an X-Amz-Date). */
  sign(stamp: string, canonicalRequest: string): string {
    const day = stamp.slice(0, 8);
    const stringToSign = `AWS4-HMAC-SHA256\n${stamp}\n${this.scope(day)}\n${hash('sha256', canonicalRequest, 'hex')}`;
    return this.#keyFor(day).hexOfAscii(stringToSign);
  }

  #keyFor(day: string): HmacSha256 {
    if (day !== this.#day || this.#key === null) {
      const kDate = createHmac('sha256', `AWS4${this.#secretKey}`).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.#region).digest();
      const kService = createHmac('sha256', kRegion).update('s3').digest();
      this.#key = new HmacSha256(createHmac('sha256', kService).update('aws4_request').digest());
      this.#day = day;
    }
    return this.#key;
  }
}
