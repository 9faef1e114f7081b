// The sidecar client's public surface.

export { StorageClient, type StorageClientOptions, type PhotoBody } from './storage-client';
export type * from '../protocol/types';
