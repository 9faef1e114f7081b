// What the main thread and the worker tasks exchange. Everything here crosses
// a thread boundary by structured clone, so it is plain data: file paths,
// offsets, settings, and a shared cancel flag — never a body.

import type { S3EndpointSettings } from '../s3/s3-endpoint';
import type { CancelFlag } from '../s3/transfer-cancel';

export type { CancelFlag } from '../s3/transfer-cancel';

/** Where a worker thread reaches MinIO. The secret stays in memory; it is never logged. */
export type WorkerMinioSettings = S3EndpointSettings;

export interface HashFileTask {
  path: string;
  /** First byte, inclusive; 0 when absent. */
  start?: number;
  /** Last byte, inclusive; the file's last byte when absent. */
  end?: number;
  cancel?: CancelFlag;
}

/**
 * A BigInt64Array over a SharedArrayBuffer that the spooling thread updates as
 * a file grows: [0] the bytes it holds, [1] 1 once it is complete. The
 * hashing task waits on [0] with Atomics.waitAsync, so a body is hashed while
 * it arrives without a message per write.
 */
export type FileGrowth = BigInt64Array;

export interface HashGrowingFileTask {
  path: string;
  growth: FileGrowth;
  cancel: CancelFlag;
}

export interface UploadPartTask {
  settings: WorkerMinioSettings;
  bucket: string;
  key: string;
  uploadId: string;
  /** 1..10000, as S3 numbers parts. */
  partNumber: number;
  path: string;
  start: number;
  end: number;
  cancel?: CancelFlag;
}

export interface UploadPartResult {
  etag: string;
  size: number;
}

export interface DownloadPartTask {
  settings: WorkerMinioSettings;
  bucket: string;
  key: string;
  start: number;
  end: number;
  /**
   * Where the bytes go, from its first byte: a view of shared memory
   * (src/daemon/memory/slot-pool.ts), so they reach the main thread without
   * a copy. At least end - start + 1 bytes long.
   */
  into: Uint8Array;
  cancel?: CancelFlag;
}

export interface DownloadPartResult {
  /** Bytes written to the start of `into`: the range, or less where the object ends first. */
  length: number;
  /** The object's whole size, from the response's Content-Range. */
  objectSize: number;
}

/**
 * Why a task failed. Errors lose their class and extra fields when they cross
 * threads, so tasks throw this plain object and the main thread rebuilds a
 * storaged error from it (src/daemon/workers/task-failure.ts).
 */
export type TaskFailureKind = 'transient' | 'invalid' | 'not-found' | 'range' | 'checksum' | 'cancelled' | 'failed';

export interface TaskFailure {
  taskFailure: true;
  kind: TaskFailureKind;
  message: string;
  /** The underlying error code (ECONNRESET, NoSuchKey, …) when there was one. */
  code?: string;
}

export function isTaskFailure(value: unknown): value is TaskFailure {
  return typeof value === 'object' && value !== null && (value as { taskFailure?: unknown }).taskFailure === true;
}
