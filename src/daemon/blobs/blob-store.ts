// Where bytes live. Two implementations: a local directory (the embedded
// default) and MinIO/S3. The coordinator only ever talks to this interface.

import type { Readable } from 'node:stream';
import type { ObjectIdentity } from './object-identity';
import type { ServedAs } from '../../s3/safe-serving';

/** A body ready to write: already received whole, in memory or spooled to a file. */
export type BlobSource = { buffer: Buffer } | { path: string };

export interface BlobInfo {
  size: number;
  lastModified: Date;
}

/** What one look at an object tells: its size and mtime, and the identity it carries. */
export interface BlobHead extends BlobInfo {
  identity: ObjectIdentity | null;
}

export interface ListedBlob extends BlobInfo {
  key: string;
  /**
   * MinIO/S3: the listing's ETag, for an object written in one PUT the MD5
   * of its bytes (lower-case hex); absent on the local backend.
   */
  etag?: string;
}

/** A multipart upload begun and neither completed nor aborted (fs: a temp file of a write). */
export interface IncompleteUpload {
  key: string;
  /** Tells apart two listings of the same upload (their `initiated` may differ by milliseconds). */
  uploadId: string;
  initiated: Date;
}

/**
 * Whether an upload begun at `initiated` is older than `ageMs` at `now`. Age 0
 * means every upload, whatever its timestamp: `initiated` comes from the
 * blob store's clock, and one running ahead of ours would otherwise keep a
 * just-failed store's upload alive until the next sweep.
 */
export function isOlderThan(initiated: Date, ageMs: number, now: number): boolean {
  return ageMs <= 0 || initiated.getTime() <= now - ageMs;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** A put fed while its body is still being spooled (see BlobStore.growingPuts). */
export interface GrowingPut {
  /** The spool file now holds `bytes` bytes; more may follow. */
  grew(bytes: number): void;
  /** The body is complete at `size` bytes; resolves once the object is durable and its size checked. */
  finish(size: number): Promise<unknown>;
  /** Gives up and removes what was sent. Never throws. */
  abort(): Promise<void>;
}

export interface GrowingPuts {
  /** Bodies past this many bytes may start going up before they have fully arrived. */
  fromBytes: number;
  /** Starts the put once `after` settles (a rejection fails it). */
  open(
    target: { bucket: string; key: string; path: string; contentType: string; signal: AbortSignal; identity?: ObjectIdentity },
    after: Promise<unknown>,
  ): GrowingPut;
}

export interface BlobStore {
  readonly kind: 'fs' | 'minio';
  /**
   * Puts that overlap the caller's transfer instead of following it, or null
   * when the store only takes whole bodies.
   */
  readonly growingPuts: GrowingPuts | null;
  /** Creates the buckets that are missing. */
  ensureBuckets(buckets: readonly string[]): Promise<void>;
  /**
   * Writes the whole object; resolves only once the bytes are durable in the
   * store. `sha256` (hex) is the body's digest when the caller already knows
   * it: the store can then skip hashing and have the server verify the bytes.
   * `signal` cancels a transfer in progress (MinIO: the multipart upload is aborted).
   * `identity` is written with the object (object-identity.ts), atomically with it.
   */
  put(
    bucket: string,
    key: string,
    source: BlobSource,
    size: number,
    contentType: string,
    sha256?: string,
    signal?: AbortSignal,
    identity?: ObjectIdentity,
  ): Promise<void>;
  /** What the object says about itself, or null when it carries no valid identity (or does not exist). */
  identity(bucket: string, key: string): Promise<ObjectIdentity | null>;
  /** Size and mtime, or null when the object does not exist. */
  stat(bucket: string, key: string): Promise<BlobInfo | null>;
  /**
   * stat and identity in one look (MinIO: one HEAD, where asking for them
   * apart costs two), for a caller that wants both; null when the object does
   * not exist. stat stays for the callers that need only the size: the local
   * backend's identity is a second file to read.
   */
  head(bucket: string, key: string): Promise<BlobHead | null>;
  /** Removes the object; an object already gone is not an error. */
  remove(bucket: string, key: string): Promise<void>;
  /**
   * A URL a plain HTTP GET can fetch the bytes from until it expires. With
   * `served`, a type a browser could run is answered as a download (safe-serving.ts).
   */
  presignedGetUrl(bucket: string, key: string, expirySeconds: number, served?: ServedAs): Promise<string>;
  /**
   * The bytes (or a range of them) as a stream. `size` is the whole object's
   * size when the caller knows it (the catalog row): a small object can then
   * be read in one request.
   */
  read(bucket: string, key: string, range?: ByteRange, size?: number): Promise<Readable>;
  /** Every object of a bucket, or those whose key starts with `prefix` (for the orphan sweep and the check). */
  list(bucket: string, prefix?: string): AsyncIterable<ListedBlob>;
  /**
   * Aborts incomplete multipart uploads older than the given age; returns how
   * many. With `key`, only that object's. MinIO lists an upload begun before
   * its last restart only when asked for its exact key, so recovery should
   * pass the keys of its pending rows as well as sweeping the bucket.
   * `spare` keeps the uploads of the keys it names (stores still in flight,
   * however long they have been going).
   */
  abortIncompleteUploads(bucket: string, olderThanMs: number, key?: string, spare?: (key: string) => boolean | Promise<boolean>): Promise<number>;
  /** The incomplete uploads abortIncompleteUploads would consider (for the check command); `key` as there. */
  incompleteUploads(bucket: string, key?: string): AsyncIterable<IncompleteUpload>;
  /** Throws UnavailableError when the store cannot be reached. */
  ping(): Promise<void>;
}
