import { createHash } from 'node:crypto';
import type { BlobStore } from '../blobs/blob-store';

/** The sha256 (hex) of an object's bytes as the store holds them now. */
export async function blobDigest(blobs: BlobStore, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await blobs.read(bucket, key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
