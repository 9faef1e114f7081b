// The in-process blob-store benchmarks' two backends, one after the other in a
// scratch folder: the local directory, then a real MinIO started for the run.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { BlobStore } from '../src/daemon/blobs/blob-store';
import { FsBlobStore } from '../src/daemon/blobs/fs-blob-store';
import { BlobUrlSigner } from '../src/daemon/blobs/fs-url-signer';
import { MinioBlobStore } from '../src/daemon/blobs/minio-blob-store';
import { startMinio } from '../test/support/minio-server';

export type Backend = 'fs' | 'minio';

export async function onBothBlobStores(prefix: string, run: (backend: Backend, blobs: BlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const signer = new BlobUrlSigner(Buffer.alloc(32, 1), 'http://127.0.0.1:1');
    await run('fs', new FsBlobStore(path.join(dir, 'blobs'), signer), dir);
    const minio = await startMinio();
    try {
      const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey };
      await run('minio', new MinioBlobStore(settings, pino({ level: 'silent' })), dir);
    } finally {
      await minio.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
