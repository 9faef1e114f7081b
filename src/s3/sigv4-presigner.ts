// AWS Signature V4 presigned GET URLs, path style, as minio-js makes them but
// several times cheaper: minio-js derives the signing key (four HMACs) on
// every call, which at ~30 µs per URL alone would cap getPhoto near 30k/s on
// one core. The key only changes with the date, so it is cached per day.
// test/blobs/sigv4-presigner.test.ts checks the output byte for byte against minio-js.

import type { S3Settings } from './s3-settings';
import { amzDate, hostOf, objectAddress, uriEncode } from './sigv4-encoding';
import { SigV4SigningKey } from './sigv4-signing-key';
/** Where and as whom URLs are signed (the daemon's MinioSettings fit). */
export type PresignerSettings = S3Settings;

/** Response headers a URL makes S3 answer with (response-content-disposition, response-content-type). */
export interface ResponseOverrides {
  disposition: string;
  contentType: string;
}


export class SigV4Presigner {
  readonly #host: string;
  readonly #scheme: string;
  readonly #useSSL: boolean;
  readonly #pathStyle: boolean;
  readonly #accessKey: string;
  readonly #key: SigV4SigningKey;
  #scopeDay = '';
  #scopeQuery = '';
  /** The X-Amz-Date of the last second seen: formatting a date per URL showed in profiles. */
  #stampSecond = -1;
  #stamp = '';

  constructor(settings: PresignerSettings) {
    this.#host = hostOf(settings.endPoint, settings.port, settings.useSSL);
    this.#scheme = settings.useSSL ? 'https' : 'http';
    this.#useSSL = settings.useSSL;
    this.#pathStyle = settings.pathStyle ?? true;
    this.#accessKey = settings.accessKey;
    this.#key = new SigV4SigningKey(settings.secretKey, settings.region);
  }

  #credentialFor(day: string): string {
    if (day !== this.#scopeDay) {
      this.#scopeQuery = uriEncode(`${this.#accessKey}/${this.#key.scope(day)}`);
      this.#scopeDay = day;
    }
    return this.#scopeQuery;
  }

  #stampFor(now: Date): string {
    const second = Math.floor(now.getTime() / 1000);
    if (second !== this.#stampSecond) {
      this.#stampSecond = second;
      this.#stamp = amzDate(now);
    }
    return this.#stamp;
  }

  /** With `overrides`, S3 answers with that Content-Disposition and Content-Type (both signed, so they cannot be dropped). */
  presignGet(bucket: string, key: string, expirySeconds: number, now: Date = new Date(), overrides: ResponseOverrides | null = null): string {
    const stamp = this.#stampFor(now);
    const { host, path } = objectAddress(this.#pathStyle, this.#useSSL, this.#host, bucket, key);
    // Already in sorted order, as the canonical query string requires ('X' sorts before 'r').
    const query =
      `X-Amz-Algorithm=AWS4-HMAC-SHA256` +
      `&X-Amz-Credential=${this.#credentialFor(stamp.slice(0, 8))}` +
      `&X-Amz-Date=${stamp}` +
      `&X-Amz-Expires=${expirySeconds}` +
      `&X-Amz-SignedHeaders=host` +
      (overrides === null
        ? ''
        : `&response-content-disposition=${uriEncode(overrides.disposition)}&response-content-type=${uriEncode(overrides.contentType)}`);
    const canonicalRequest = `GET\n${path}\n${query}\nhost:${host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const signature = this.#key.sign(stamp, canonicalRequest);
    return `${this.#scheme}://${host}${path}?${query}&X-Amz-Signature=${signature}`;
  }
}
