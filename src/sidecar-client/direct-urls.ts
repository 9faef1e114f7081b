// Presigned URLs signed in the client itself, from a photo's bucket and key,
// with no round trip to the daemon: given the MinIO settings the daemon uses
// (`minioConfig`), the client signs exactly as the daemon would (src/s3's
// presigner, the same download overrides for types a browser could run).
// A photo whose URL the daemon did not make on that MinIO (the local-directory
// backend, another endpoint) is left to the daemon.

import { responseOverrides } from '../s3/safe-serving';
import { hostOf } from '../s3/sigv4-encoding';
import { SigV4Presigner } from '../s3/sigv4-presigner';
import type { Photo } from '../protocol/types';
import type { S3Settings } from '../s3/s3-settings';

/** The MinIO settings the daemon uses (its MINIO_*; region default us-east-1), and its STORAGED_BUCKET_PREFIX. */
export interface MinioClientConfig extends Omit<S3Settings, 'region'> {
  region?: string;
  bucketPrefix?: string;
}

export class DirectUrls {
  readonly #presigner: SigV4Presigner;
  readonly #prefix: string;
  readonly #host: string;

  constructor(config: MinioClientConfig) {
    for (const field of ['endPoint', 'accessKey', 'secretKey'] as const) {
      if (typeof config[field] !== 'string' || config[field] === '') throw new TypeError(`minioConfig.${field} must be a non-empty string`);
    }
    if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) throw new TypeError('minioConfig.port must be a port number');
    const settings = { ...config, region: config.region ?? 'us-east-1', pathStyle: config.pathStyle ?? true };
    this.#presigner = new SigV4Presigner(settings);
    this.#prefix = config.bucketPrefix ?? '';
    this.#host = hostOf(config.endPoint, config.port, config.useSSL);
  }

  /** Whether `s3Url` (a URL the daemon made) points at this MinIO: then the client may sign for that photo itself. */
  covers(s3Url: string): boolean {
    try {
      const host = new URL(s3Url).host;
      return host === this.#host || host.endsWith(`.${this.#host}`);
    } catch {
      return false;
    }
  }

  sign(photo: Pick<Photo, 'bucket' | 's3_key' | 'original_filename' | 'mime_type'>, expirySeconds: number): string {
    const overrides = responseOverrides({ filename: photo.original_filename, mimeType: photo.mime_type });
    return this.#presigner.presignGet(`${this.#prefix}${photo.bucket}`, photo.s3_key, expirySeconds, new Date(), overrides);
  }
}
