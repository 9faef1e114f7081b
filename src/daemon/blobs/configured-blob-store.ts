// The blob store the configuration names: MinIO when MINIO_ENDPOINT is set,
// otherwise the local directory, whose signed URLs point at `baseUrl`.

import * as path from 'node:path';
import type { DaemonConfig } from '../config/daemon-config';
import type { Logger } from '../logger';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { BlobUrlSigner, loadOrCreateSigningKey } from './fs-url-signer';
import { MinioBlobStore } from './minio-blob-store';

export type ConfiguredBlobStore =
  | { kind: 'minio'; blobs: BlobStore }
  | { kind: 'fs'; blobs: BlobStore; fsStore: FsBlobStore; signer: BlobUrlSigner };

export function configuredBlobStore(config: DaemonConfig, logger: Logger, baseUrl: string): ConfiguredBlobStore {
  if (config.minio !== null) return { kind: 'minio', blobs: new MinioBlobStore(config.minio, logger) };
  const signer = new BlobUrlSigner(loadOrCreateSigningKey(path.join(config.dataDir, 'blob-url.key')), baseUrl);
  const fsStore = new FsBlobStore(config.blobDir, signer);
  return { kind: 'fs', blobs: fsStore, fsStore, signer };
}
