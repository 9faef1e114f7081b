// A real blob store of either backend for a test that runs on both: the
// local directory (fs-store-fixture.ts) or a MinIO server of its own, each
// closed when the test ends.

import type { TestContext } from 'node:test';
import pino from 'pino';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import { MinioBlobStore } from '../../src/daemon/blobs/minio-blob-store';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { openFsStore } from './fs-store-fixture';

export type BlobBackend = 'fs' | 'minio';

/** The store, and the MinIO server behind it (null on the local backend). */
export async function blobStoreFor(t: TestContext, backend: BlobBackend): Promise<{ store: BlobStore; minio: MinioHandle | null }> {
  if (backend === 'fs') {
    const fixture = await openFsStore();
    t.after(() => fixture.close());
    return { store: fixture.store, minio: null };
  }
  const minio = await startMinio(t);
  const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey };
  return { store: new MinioBlobStore(settings, pino({ level: 'silent' })), minio };
}
