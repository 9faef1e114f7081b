// AWS Signature V4 in the Authorization header, for the requests storaged
// sends itself: the workers' part uploads and ranged reads, the daemon's
// single PUT and multipart initiation (put-object.ts). The encoding and the
// per-day signing key are the presigner's (sigv4-encoding.ts, sigv4-signing-key.ts).
// test/workers/sigv4-header-signer.test.ts checks it against AWS's examples.

import { SigV4SigningKey } from './sigv4-signing-key';

/** The sha256 of an empty body, the payload hash of a GET. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface RequestToSign {
  method: string;
  /** The URI path as sent, already encoded (objectPath() in sigv4-encoding.ts). */
  path: string;
  /** The canonical query: encoded name=value pairs sorted by name, joined by '&'; '' for none. */
  query: string;
  /**
   * Every header to sign as [lowercase name, value], host, x-amz-content-sha256
   * and x-amz-date among them. Any order: they are signed sorted by name.
   */
  headers: ReadonlyArray<readonly [string, string]>;
  /** x-amz-content-sha256: the body's hex sha256, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

const HEADER_NAME = /^[a-z0-9-]+$/;

export class SigV4HeaderSigner {
  readonly #accessKey: string;
  readonly #key: SigV4SigningKey;

  constructor(accessKey: string, secretKey: string, region: string) {
    this.#accessKey = accessKey;
    this.#key = new SigV4SigningKey(secretKey, region);
  }

  /** The Authorization header's value for `req` made at `stamp` (its x-amz-date). */
  authorization(req: RequestToSign, stamp: string): string {
    const headers = [...req.headers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let canonicalHeaders = '';
    let signedHeaders = '';
    for (const [name, value] of headers) {
      if (!HEADER_NAME.test(name)) throw new TypeError(`a signed header name must be lowercase letters, digits and '-', got '${name}'`);
      // SigV4 trims a value and folds each run of spaces inside it into one.
      canonicalHeaders += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
      signedHeaders += signedHeaders === '' ? name : `;${name}`;
    }
    const canonicalRequest = `${req.method}\n${req.path}\n${req.query}\n${canonicalHeaders}\n${signedHeaders}\n${req.payloadHash}`;
    const signature = this.#key.sign(stamp, canonicalRequest);
    const credential = `${this.#accessKey}/${this.#key.scope(stamp.slice(0, 8))}`;
    return `AWS4-HMAC-SHA256 Credential=${credential},SignedHeaders=${signedHeaders},Signature=${signature}`;
  }
}
