// What applications construct: `new StorageClient({ socketPath, clientId })`
// talks to the local daemon over its Unix socket, `new StorageClient({ url,
// token })` to a remote one through its HTTP gateway. The transport is picked
// from the options alone, so switching is a configuration change.

import type { PhotoBody, PhotoDownload, PhotoStorage } from '../protocol/photo-storage';
import type {
  ByteRangeRequest,
  PaginationOptions,
  Photo,
  PhotoMetadataPatch,
  PhotoPage,
  PhotoResult,
  PhotoWithUrl,
  SearchQuery,
  SearchResult,
  StorePhotoOptions,
} from '../protocol/types';
import { RemoteClient, type RemoteClientOptions } from '../remote-client';
import { SidecarClient, type SidecarClientOptions } from './sidecar-client';

export type StorageClientOptions = SidecarClientOptions | RemoteClientOptions;

export class StorageClient implements PhotoStorage {
  readonly #transport: PhotoStorage;

  constructor(opts: StorageClientOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('StorageClient expects an options object');
    const socket = 'socketPath' in opts && opts.socketPath !== undefined;
    const remote = 'url' in opts && opts.url !== undefined;
    if (socket === remote) {
      throw new TypeError('StorageClient needs either { socketPath, clientId } (local daemon) or { url, token } (HTTP gateway)');
    }
    this.#transport = remote ? new RemoteClient(opts as RemoteClientOptions) : new SidecarClient(opts as SidecarClientOptions);
  }

  storePhoto(data: PhotoBody, options: StorePhotoOptions): Promise<PhotoResult> {
    return this.#transport.storePhoto(data, options);
  }

  getPhoto(id: string): Promise<PhotoWithUrl> {
    return this.#transport.getPhoto(id);
  }

  getPhotoUrl(id: string, expirySeconds?: number): Promise<string> {
    return this.#transport.getPhotoUrl(id, expirySeconds);
  }

  readPhoto(id: string, range?: ByteRangeRequest): Promise<PhotoDownload> {
    return this.#transport.readPhoto(id, range);
  }

  updatePhotoMetadata(id: string, patch: PhotoMetadataPatch): Promise<Photo> {
    return this.#transport.updatePhotoMetadata(id, patch);
  }

  deletePhoto(id: string): Promise<void> {
    return this.#transport.deletePhoto(id);
  }

  searchPhotos(query: SearchQuery): Promise<SearchResult> {
    return this.#transport.searchPhotos(query);
  }

  getUserPhotos(userId: string, options?: PaginationOptions): Promise<PhotoPage> {
    return this.#transport.getUserPhotos(userId, options);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
