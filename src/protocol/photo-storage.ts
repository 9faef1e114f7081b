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

/**
 * What every method takes last, optionally. `signal` abandons the call (it
 * rejects with the signal's reason; a store abandoned this way stores
 * nothing). `timeoutMs` replaces the client's callTimeoutMs for this call: how
 * long the call may go without progress (a body's transfer restarts it with
 * every piece sent), not a deadline for the whole transfer.
 */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface PhotoStorage {
  storePhoto(data: PhotoBody, options: StorePhotoOptions, call?: CallOptions): Promise<PhotoResult>;
  getPhoto(id: string, call?: CallOptions): Promise<PhotoWithUrl>;
  getPhotoUrl(id: string, expirySeconds?: number, call?: CallOptions): Promise<string>;
  /** The photo's bytes, whole or a range (both ends inclusive). The call's signal and timeout cover the wait for the head; destroy the body to stop reading. */
  readPhoto(id: string, range?: ByteRangeRequest, call?: CallOptions): Promise<PhotoDownload>;
  updatePhotoMetadata(id: string, patch: PhotoMetadataPatch, call?: CallOptions): Promise<Photo>;
  deletePhoto(id: string, call?: CallOptions): Promise<void>;
  searchPhotos(query: SearchQuery, call?: CallOptions): Promise<SearchResult>;
  getUserPhotos(userId: string, options?: PaginationOptions, call?: CallOptions): Promise<PhotoPage>;
  /** Lets calls in flight finish, then releases connections. Later calls fail with ClosedError. */
  close(): Promise<void>;
}
