// The PhotoStorage contract over the Unix socket (the sidecar client), with
// socket callers authenticated by token as a daemon with tokens does by default.

import { randomBytes } from 'node:crypto';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startTestDaemon } from '../support/in-process-daemon';
import { describeClientContract, type Tenant } from './client-contract';

describeClientContract('sidecar (Unix socket)', async (t, minio, env) => {
  const tokens: Record<Tenant, string> = { acme: randomBytes(24).toString('base64url'), rival: randomBytes(24).toString('base64url') };
  const daemon = await startTestDaemon(t, minio, { env: { ...env, STORAGED_TOKENS: `${tokens.acme} acme, ${tokens.rival} rival` } });
  const clients = new Map<string, StorageClient>();
  return {
    daemon,
    client(tenant, extras) {
      if (extras !== undefined) {
        const own = new StorageClient({ socketPath: daemon.socketPath, clientId: tenant, token: tokens[tenant], ...extras });
        t.after(() => own.close());
        return own;
      }
      let client = clients.get(tenant);
      if (client === undefined) {
        client = daemon.client(tenant);
        clients.set(tenant, client);
      }
      return client;
    },
  };
});
