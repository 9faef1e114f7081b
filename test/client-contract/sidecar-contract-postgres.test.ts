// The PhotoStorage contract over the Unix socket with the catalog on
// PostgreSQL: the same checks, under the same names, as on SQLite
// (sidecar-contract.test.ts), so both engines give the same answers, errors
// and page cursors.

import { randomBytes } from 'node:crypto';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startCatalogDatabase } from '../support/catalog-database';
import { startTestDaemon } from '../support/in-process-daemon';
import { describeClientContract, type Tenant } from './client-contract';

describeClientContract('sidecar (Unix socket), catalog on PostgreSQL', async (t, minio, env) => {
  const tokens: Record<Tenant, string> = { acme: randomBytes(24).toString('base64url'), rival: randomBytes(24).toString('base64url') };
  const catalog = await startCatalogDatabase(t);
  const daemon = await startTestDaemon(t, minio, {
    env: { ...env, STORAGED_CATALOG_URL: catalog.url, STORAGED_TOKENS: `${tokens.acme} acme, ${tokens.rival} rival` },
  });
  catalog.disposeLast();
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
