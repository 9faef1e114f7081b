import { createHash } from 'node:crypto';
import type { BlobStore } from '../blobs/blob-store';
import { returningParts } from '../blobs/part-returns';

/** The sha256 (hex) of an object's bytes as the store holds them now. */
export async function blobDigest(blobs: BlobStore, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  // The hash is done with each piece before asking for the next, so each part's memory can go back for the next part.
  for await (const chunk of returningParts(await blobs.read(bucket, key))) hash.update(chunk);
  return hash.digest('hex');
}
