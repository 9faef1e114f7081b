// Looks at the blob store directly, not through storaged, so a test can tell
// whether an object really exists.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MinioHandle } from './minio-server';

export async function blobExists(minio: MinioHandle | null, dataDir: string, bucket: string, key: string): Promise<boolean> {
  if (minio === null) return fs.existsSync(path.join(dataDir, 'blobs', bucket, key));
  try {
    await minio.client.statObject(bucket, key);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFound') return false;
    throw err;
  }
}

/** Every object in every bucket, as `bucket/key`. */
export async function allBlobs(minio: MinioHandle | null, dataDir: string): Promise<string[]> {
  const found: string[] = [];
  if (minio === null) {
    const root = path.join(dataDir, 'blobs');
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        // An object's identity record (fs-blob-store.ts) is part of the object, not one of its own.
        else if (!e.name.endsWith('.storaged-identity')) found.push(path.relative(root, full));
      }
    };
    walk(root);
    return found.sort();
  }
  for (const bucket of await minio.client.listBuckets()) {
    const stream = minio.client.listObjectsV2(bucket.name, '', true);
    for await (const obj of stream as AsyncIterable<{ name: string }>) found.push(`${bucket.name}/${obj.name}`);
  }
  return found.sort();
}
