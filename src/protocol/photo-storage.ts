// The one interface applications program against. The sidecar client (Unix
// socket) and the remote client (HTTP gateway) both implement it, so an
// application switches transport by configuration alone.

import type { Readable } from 'node:stream';
import type {
  ByteRangeRequest,
  PaginationOptions,
  Photo,
  PhotoContentInfo,
  PhotoMetadataPatch,
  PhotoPage,
  PhotoResult,
  PhotoWithUrl,
  SearchQuery,
  SearchResult,
  StorePhotoOptions,
} from './types';

/** A body: bytes in memory, or a stream (any async iterable of bytes, e.g. fs.createReadStream). */
export type PhotoBody = Buffer | Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

/** A photo's bytes on their way: what they are, and a stream with back-pressure (destroy it to stop early). */
export interface PhotoDownload {
  info: PhotoContentInfo;
  body: Readable;
}

export interface PhotoStorage {
  storePhoto(data: PhotoBody, options: StorePhotoOptions): Promise<PhotoResult>;
  getPhoto(id: string): Promise<PhotoWithUrl>;
  getPhotoUrl(id: string, expirySeconds?: number): Promise<string>;
  /** The photo's bytes, whole or a range (both ends inclusive). */
  readPhoto(id: string, range?: ByteRangeRequest): Promise<PhotoDownload>;
  updatePhotoMetadata(id: string, patch: PhotoMetadataPatch): Promise<Photo>;
  deletePhoto(id: string): Promise<void>;
  searchPhotos(query: SearchQuery): Promise<SearchResult>;
  getUserPhotos(userId: string, options?: PaginationOptions): Promise<PhotoPage>;
  /** Lets calls in flight finish, then releases connections. Later calls fail with ClosedError. */
  close(): Promise<void>;
}
