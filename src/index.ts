// What applications import: the sidecar client, its types and the error classes.

export { StorageClient, type StorageClientOptions } from './sidecar-client/storage-client';
export type { CacheConfig, CacheStats } from './sidecar-client/client-cache';
export type { MinioClientConfig } from './sidecar-client/direct-urls';
export { RemoteClient, type RemoteClientOptions } from './remote-client';
export type { PhotoBody, PhotoDownload, PhotoStorage } from './protocol/photo-storage';
export * from './protocol/errors';
export type * from './protocol/types';
export { PROCESSING_STATUSES, BUCKETS, SORT_FIELDS } from './protocol/types';
