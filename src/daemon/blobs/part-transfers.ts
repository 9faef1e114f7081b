// What the multipart orchestration needs: the pool whose threads move the
// bytes, the settings they reach MinIO with, a main-thread client for the
// small calls (initiate, complete, abort, stat), and the sizes.

import type * as Minio from 'minio';
import type { ObjectWriter } from '../../s3/put-object';
import type { S3Endpoint } from '../../s3/s3-endpoint';
import type { Piscina } from 'piscina';
import { asTaskFailure } from '../../workers/failures';
import type { WorkerMinioSettings } from '../../workers/task-types';
import type { Logger } from '../logger';
import type { MemoryBudget } from '../memory/memory-budget';
import { fromTaskFailure } from '../workers/task-failure';
import type { RetryPolicy } from './transfer-retry';

export interface PartTransfers {
  pool: Piscina;
  settings: WorkerMinioSettings;
  /** The main thread's own way to the same endpoint, for reads of one part (read-in-parts.ts). */
  endpoint: S3Endpoint;
  client: Minio.Client;
  /** Initiates multipart uploads (minio-js has that call only as @internal API). */
  writer: ObjectWriter;
  /** Bytes per part (S3: at least 5 MiB but the last, at most 10,000 parts). */
  partBytes: number;
  /** Parts in flight per upload. */
  concurrency: number;
  retry: RetryPolicy;
  logger: Logger;
  /** Download parts are taken from it (waiting past it); none: unbounded. */
  budget?: MemoryBudget;
  /** Download parts asked for ahead of the reader (read-in-parts.ts's default when absent). */
  readAhead?: number;
}

/** A main-thread MinIO call, its failure classified as a worker's would be. */
export async function minioCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromTaskFailure(asTaskFailure(err, action));
  }
}
