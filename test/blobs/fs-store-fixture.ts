// A local-directory blob store with its signed-URL handler served on a
// loopback port, as the daemon wires them, for the fs tests.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { FsBlobStore } from '../../src/daemon/blobs/fs-blob-store';
import { BlobUrlSigner } from '../../src/daemon/blobs/fs-url-signer';
import { createSignedBlobHandler } from '../../src/daemon/blobs/signed-blob-handler';

export interface FsStoreFixture {
  store: FsBlobStore;
  signer: BlobUrlSigner;
  root: string;
  baseUrl: string;
  close(): Promise<void>;
}

export async function openFsStore(): Promise<FsStoreFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-fs-blobs-'));
  const root = path.join(dir, 'blobs');
  let route: (req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false;
  const server = http.createServer((req, res) => {
    if (!route(req, res)) {
      res.writeHead(404);
      res.end('not a blob route');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signer = new BlobUrlSigner(randomBytes(32), baseUrl);
  const store = new FsBlobStore(root, signer);
  route = createSignedBlobHandler(store, signer, pino({ level: 'silent' }));
  return {
    store,
    signer,
    root,
    baseUrl,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
