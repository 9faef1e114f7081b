// A local directory has no HTTP server of its own, so the daemon serves the
// local backend's blobs itself, behind URLs signed like presigned S3 ones:
// HMAC-SHA256 over bucket, key and expiry with a key kept in the data dir.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { ResponseOverrides } from '../../s3/safe-serving';
import { ConfigError } from '../config/config-error';

export type SignatureCheck = 'ok' | 'expired' | 'bad-signature';

const SIGNING_KEY_BYTES = 32;

export class BlobUrlSigner {
  readonly #secret: Buffer;
  readonly #baseUrl: string;

  constructor(secret: Buffer, baseUrl: string) {
    this.#secret = secret;
    // `http://host:port/` and `http://host:port` must give the same URLs.
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
  }

  #mac(bucket: string, key: string, expires: number, overrides: ResponseOverrides | null): Buffer {
    const mac = createHmac('sha256', this.#secret).update(`${bucket}\n${key}\n${expires}`);
    // Signed like S3's response-content-* parameters: a URL's download headers cannot be dropped or changed.
    if (overrides !== null) mac.update(`\n${overrides.disposition}\n${overrides.contentType}`);
    return mac.digest();
  }

  /** A URL valid for expirySeconds from now (`now` in ms, for tests); `overrides` fix how it is served. */
  sign(bucket: string, key: string, expirySeconds: number, now = Date.now(), overrides: ResponseOverrides | null = null): string {
    const expires = Math.floor(now / 1000) + expirySeconds;
    const keyPath = key.split('/').map(encodeURIComponent).join('/');
    const signature = this.#mac(bucket, key, expires, overrides).toString('hex');
    const served =
      overrides === null
        ? ''
        : `&response-content-disposition=${encodeURIComponent(overrides.disposition)}&response-content-type=${encodeURIComponent(overrides.contentType)}`;
    return `${this.#baseUrl}/blobs/${encodeURIComponent(bucket)}/${keyPath}?expires=${expires}${served}&signature=${signature}`;
  }

  /** Checks the query parameters of a URL made by sign(); the signature is checked before the expiry. */
  verify(
    bucket: string,
    key: string,
    expires: string | null,
    signature: string | null,
    now = Date.now(),
    overrides: ResponseOverrides | null = null,
  ): SignatureCheck {
    if (expires === null || signature === null || !/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/.test(signature)) {
      return 'bad-signature';
    }
    const expected = this.#mac(bucket, key, Number(expires), overrides);
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'bad-signature';
    return Number(expires) * 1000 <= now ? 'expired' : 'ok';
  }
}

/**
 * 32 random bytes in a 0600 file, so URLs stay valid across restarts. A key
 * that group or others may read is refused, as the tokens file is: whoever
 * reads it can sign a URL to any client's blob.
 */
export function loadOrCreateSigningKey(file: string): Buffer {
  for (;;) {
    try {
      const key = fs.readFileSync(file);
      if (key.length >= SIGNING_KEY_BYTES) {
        const mode = fs.statSync(file).mode & 0o777;
        if ((mode & 0o077) !== 0) {
          throw new ConfigError(
            'STORAGED_DATA_DIR',
            `${file} has mode ${mode.toString(8)}; it signs the local backend's blob URLs, so allow only its owner (chmod 600), ` +
              'or remove it to make a new key (URLs handed out so far stop working)',
          );
        }
        return key;
      }
      // Too short to be ours (written by hand, or truncated): only outstanding URLs depend on it, so replace it.
      fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = randomBytes(SIGNING_KEY_BYTES);
    // Write whole under a temp name, then link: a second daemon starting at the
    // same moment either wins or reads the winner's key, never a half-written file.
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fd = fs.openSync(temp, 'wx', 0o600);
      try {
        fs.writeFileSync(fd, key);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.linkSync(temp, file);
      return key;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }
}
