// The blob store the configuration names: MinIO when MINIO_ENDPOINT is set,
// otherwise the local directory, whose signed URLs point at `baseUrl`.

import * as path from 'node:path';
import type { Piscina } from 'piscina';
import type { DaemonConfig } from '../config/daemon-config';
import type { Logger } from '../logger';
import type { MemoryBudget } from '../memory/memory-budget';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { BlobUrlSigner, loadOrCreateSigningKey } from './fs-url-signer';
import { MinioBlobStore } from './minio-blob-store';
import { PrefixedBuckets } from './prefixed-buckets';

export type ConfiguredBlobStore =
  | { kind: 'minio'; blobs: BlobStore }
  | { kind: 'fs'; blobs: BlobStore; fsStore: FsBlobStore; signer: BlobUrlSigner };

/** What the memory budget gives MinIO transfers: download parts are taken from it, and the sizes it allows. */
export interface BudgetedTransfers {
  budget: MemoryBudget;
  readAhead: number;
  partConcurrency: number;
}

/** `pool` moves large MinIO bodies in parts; the local directory needs no workers. */
export function configuredBlobStore(
  config: DaemonConfig,
  logger: Logger,
  baseUrl: string,
  pool?: Piscina,
  budgeted?: BudgetedTransfers,
): ConfiguredBlobStore {
  const prefixed = (blobs: BlobStore) => (config.bucketPrefix === '' ? blobs : new PrefixedBuckets(blobs, config.bucketPrefix));
  if (config.minio !== null) {
    const pooled =
      pool === undefined
        ? undefined
        : {
            pool,
            ...config.multipart,
            ...(budgeted && { budget: budgeted.budget, readAhead: budgeted.readAhead, concurrency: budgeted.partConcurrency }),
          };
    return { kind: 'minio', blobs: prefixed(new MinioBlobStore(config.minio, logger, pooled)) };
  }
  const signer = new BlobUrlSigner(loadOrCreateSigningKey(path.join(config.dataDir, 'blob-url.key')), baseUrl);
  const fsStore = new FsBlobStore(config.blobDir, signer);
  return { kind: 'fs', blobs: prefixed(fsStore), fsStore, signer };
}
