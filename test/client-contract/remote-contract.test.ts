// The PhotoStorage contract over the HTTP gateway: StorageClient given { url, token },
// one token per tenant; the token alone decides whose photos a call sees.

import { randomBytes } from 'node:crypto';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startTestDaemon } from '../support/in-process-daemon';
import { describeClientContract, type Tenant } from './client-contract';

describeClientContract('remote client (HTTP gateway)', async (t, minio, env) => {
  const tokens: Record<Tenant, string> = { acme: randomBytes(24).toString('base64url'), rival: randomBytes(24).toString('base64url') };
  const daemon = await startTestDaemon(t, minio, {
    env: { ...env, STORAGED_TOKENS: `${tokens.acme} acme, ${tokens.rival} rival` },
  });
  const url = daemon.daemon.httpUrl!;
  const clients = new Map<Tenant, StorageClient>();
  t.after(() => Promise.all([...clients.values()].map((c) => c.close())));
  return {
    daemon,
    client(tenant, extras) {
      if (extras !== undefined) {
        const own = new StorageClient({ url, token: tokens[tenant], clientId: tenant, ...extras });
        t.after(() => own.close());
        return own;
      }
      let client = clients.get(tenant);
      if (client === undefined) {
        client = new StorageClient({ url, token: tokens[tenant], clientId: tenant });
        clients.set(tenant, client);
      }
      return client;
    },
  };
});
