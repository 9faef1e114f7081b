// STORAGED_BUCKET_PREFIX: storaged's buckets under names of the operator's
// choosing (`acme-images`, `acme-backups`, …), for a MinIO shared with other
// applications or other storaged deployments. Rows, recovery and the check
// keep the logical names (images, images-large, videos, files, backups); only
// the blob store sees the prefixed ones, so changing the prefix is a matter of
// moving the buckets, not of rewriting the catalog.

import type { Readable } from 'node:stream';
import type { BlobHead, BlobInfo, BlobSource, BlobStore, ByteRange, GrowingPuts, IncompleteUpload, ListedBlob } from './blob-store';
import type { ObjectIdentity } from './object-identity';
import type { ServedAs } from '../../s3/safe-serving';

/** Bucket names are 3-63 of a-z, 0-9, '.' and '-'; the longest logical name (images-large) leaves 51 for the prefix. */
export const BUCKET_PREFIX = /^[a-z0-9][a-z0-9.-]{0,50}$/;

export class PrefixedBuckets implements BlobStore {
  readonly growingPuts: GrowingPuts | null;

  constructor(
    private readonly inner: BlobStore,
    private readonly prefix: string,
  ) {
    const puts = inner.growingPuts;
    this.growingPuts =
      puts === null ? null : { fromBytes: puts.fromBytes, open: (target, after) => puts.open({ ...target, bucket: this.#name(target.bucket) }, after) };
  }

  get kind(): BlobStore['kind'] {
    return this.inner.kind;
  }

  #name(bucket: string): string {
    return `${this.prefix}${bucket}`;
  }

  ensureBuckets(buckets: readonly string[]): Promise<void> {
    return this.inner.ensureBuckets(buckets.map((b) => this.#name(b)));
  }

  put(bucket: string, key: string, source: BlobSource, size: number, contentType: string, sha256?: string, signal?: AbortSignal, identity?: ObjectIdentity): Promise<void> {
    return this.inner.put(this.#name(bucket), key, source, size, contentType, sha256, signal, identity);
  }

  identity(bucket: string, key: string): Promise<ObjectIdentity | null> {
    return this.inner.identity(this.#name(bucket), key);
  }

  stat(bucket: string, key: string): Promise<BlobInfo | null> {
    return this.inner.stat(this.#name(bucket), key);
  }

  head(bucket: string, key: string): Promise<BlobHead | null> {
    return this.inner.head(this.#name(bucket), key);
  }

  remove(bucket: string, key: string): Promise<void> {
    return this.inner.remove(this.#name(bucket), key);
  }

  presignedGetUrl(bucket: string, key: string, expirySeconds: number, served?: ServedAs): Promise<string> {
    return this.inner.presignedGetUrl(this.#name(bucket), key, expirySeconds, served);
  }

  read(bucket: string, key: string, range?: ByteRange, size?: number): Promise<Readable> {
    return this.inner.read(this.#name(bucket), key, range, size);
  }

  list(bucket: string, prefix?: string): AsyncIterable<ListedBlob> {
    return this.inner.list(this.#name(bucket), prefix);
  }

  abortIncompleteUploads(bucket: string, olderThanMs: number, key?: string, spare?: (key: string) => boolean | Promise<boolean>): Promise<number> {
    return this.inner.abortIncompleteUploads(this.#name(bucket), olderThanMs, key, spare);
  }

  incompleteUploads(bucket: string, key?: string): AsyncIterable<IncompleteUpload> {
    return this.inner.incompleteUploads(this.#name(bucket), key);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}
