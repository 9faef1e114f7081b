// The client's public surface.

export { StorageClient, type StorageClientOptions } from './storage-client';
export { SidecarClient, type SidecarClientOptions } from './sidecar-client';
export { RemoteClient, type RemoteClientOptions } from '../remote-client';
export type { PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
export type * from '../protocol/types';
