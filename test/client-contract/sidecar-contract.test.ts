// The PhotoStorage contract over the Unix socket (the sidecar client).

import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startTestDaemon } from '../support/in-process-daemon';
import { describeClientContract } from './client-contract';

describeClientContract('sidecar (Unix socket)', async (t, minio, env) => {
  const daemon = await startTestDaemon(t, minio, { env });
  const clients = new Map<string, StorageClient>();
  return {
    daemon,
    client(tenant) {
      let client = clients.get(tenant);
      if (client === undefined) {
        client = daemon.client(tenant);
        clients.set(tenant, client);
      }
      return client;
    },
  };
});
