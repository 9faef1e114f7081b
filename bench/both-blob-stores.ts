// The in-process update-record benchmarks' setting, on each backend in turn in
// a scratch folder (the local directory, then a real MinIO started for the
// run): the blob store with its buckets, a real SQLite catalog, and the update
// records over both.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { BlobStore } from '../src/daemon/blobs/blob-store';
import { FsBlobStore } from '../src/daemon/blobs/fs-blob-store';
import { BlobUrlSigner } from '../src/daemon/blobs/fs-url-signer';
import { MinioBlobStore } from '../src/daemon/blobs/minio-blob-store';
import { Catalog } from '../src/daemon/db/catalog';
import { UpdateRecords } from '../src/daemon/update-records/update-records';
import { BUCKETS } from '../src/protocol/types';
import { startMinio } from '../test/support/minio-server';

export type Backend = 'fs' | 'minio';

export interface RecordsSetting {
  backend: Backend;
  blobs: BlobStore;
  catalog: Catalog;
  records: UpdateRecords;
}

export async function onBothBlobStores(prefix: string, run: (setting: RecordsSetting) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const logger = pino({ level: 'silent' });
  const on = async (backend: Backend, blobs: BlobStore) => {
    await blobs.ensureBuckets(BUCKETS);
    const catalog = Catalog.open({ path: path.join(dir, `${backend}.db`), logger });
    try {
      await run({ backend, blobs, catalog, records: new UpdateRecords(catalog, blobs, 'storaged', logger) });
    } finally {
      await catalog.close();
    }
  };
  try {
    await on('fs', new FsBlobStore(path.join(dir, 'blobs'), new BlobUrlSigner(Buffer.alloc(32, 1), 'http://127.0.0.1:1')));
    const minio = await startMinio();
    try {
      const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey };
      await on('minio', new MinioBlobStore(settings, logger));
    } finally {
      await minio.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
