// The one door both transports (Unix socket, HTTP gateway) call. Arguments
// arrive as `unknown` because they come off the wire; the coordinator
// validates them, so the transports carry no storage logic of their own.

import type { Readable } from 'node:stream';
import type { DaemonStats, Photo, PhotoContentInfo, PhotoPage, PhotoResult, PhotoWithUrl, SearchResult } from '../../protocol/types';

export interface CallContext {
  /** The tenant every call is scoped to (bound at handshake / by token). */
  clientId: string;
  /**
   * The credential is an admin's (an admin token; on the socket in trusted mode,
   * anyone): only then may a call read what spans every client. Absent: not an admin.
   */
  admin?: boolean;
  /** Aborted when the caller goes away; long work should stop and clean up. */
  signal: AbortSignal;
}

/** A photo's bytes being read: what they are, and the stream (destroy it to stop early). */
export interface PhotoContent {
  info: PhotoContentInfo;
  body: Readable;
}

export interface Coordinator {
  storePhoto(ctx: CallContext, options: unknown, body: AsyncIterable<Uint8Array>): Promise<PhotoResult>;
  getPhoto(ctx: CallContext, id: unknown): Promise<PhotoWithUrl>;
  /**
   * getPhoto's answer when it is already made (for this photo, this second),
   * without a promise; undefined when getPhoto must be called. Throws as
   * getPhoto rejects. Optional: a transport falls back to getPhoto.
   */
  madePhotoAnswer?(ctx: CallContext, id: unknown): PhotoWithUrl | undefined;
  /** The bytes of a committed photo, whole or a range `{ start?, end? }` (inclusive). */
  readPhoto(ctx: CallContext, id: unknown, range: unknown): Promise<PhotoContent>;
  getPhotoUrl(ctx: CallContext, id: unknown, expirySeconds: unknown): Promise<string>;
  updatePhotoMetadata(ctx: CallContext, id: unknown, patch: unknown): Promise<Photo>;
  deletePhoto(ctx: CallContext, id: unknown): Promise<void>;
  searchPhotos(ctx: CallContext, query: unknown): Promise<SearchResult>;
  getUserPhotos(ctx: CallContext, userId: unknown, options: unknown): Promise<PhotoPage>;
  /** The daemon's figures (storagectl stats), for admins only (FORBIDDEN otherwise); a coordinator without them answers UNAVAILABLE. */
  daemonStats?(ctx: CallContext): Promise<DaemonStats>;
}
