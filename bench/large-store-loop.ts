// Keeps `concurrency` stores of one file running through `client` until
// stopped: sidecar.getPhoto.underLoad's load, in the measuring process or in
// store-loader.ts.

import * as fs from 'node:fs';
import type { StorageClient } from '../src/sidecar-client/storage-client';

export interface LargeStores {
  /** Lets the stores in flight finish; resolves with how many completed in all. */
  stop(): Promise<number>;
}

export function keepStoring(client: StorageClient, file: string, concurrency: number): LargeStores {
  let loading = true;
  let stored = 0;
  const loader = async () => {
    while (loading) {
      await client.storePhoto(fs.createReadStream(file), { originalName: 'load.jpg', clientId: 'bench', contentType: 'image/jpeg' });
      stored++;
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, loader));
  return {
    async stop() {
      loading = false;
      await running;
      return stored;
    },
  };
}
