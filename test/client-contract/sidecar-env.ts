// The contract's clients over the Unix socket, with socket callers
// authenticated by token as a daemon with tokens does by default. Shared by
// the SQLite and the PostgreSQL runs, which differ only in the daemon's
// environment.

import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startTestDaemon } from '../support/in-process-daemon';
import type { MinioHandle } from '../support/minio-server';
import type { ContractEnv, Tenant } from './client-contract';

export async function sidecarContractEnv(t: TestContext, minio: MinioHandle, env: Record<string, string>): Promise<Omit<ContractEnv, 'minio'>> {
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
}
