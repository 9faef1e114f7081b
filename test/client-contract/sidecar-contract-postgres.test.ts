// The PhotoStorage contract over the Unix socket with the catalog on
// PostgreSQL: the same checks, under the same names, as on SQLite
// (sidecar-contract.test.ts), so both engines give the same answers, errors
// and page cursors.

import { startCatalogDatabase } from '../support/catalog-database';
import { describeClientContract } from './client-contract';
import { sidecarContractEnv } from './sidecar-env';

describeClientContract('sidecar (Unix socket), catalog on PostgreSQL', async (t, minio, env) => {
  const catalog = await startCatalogDatabase(t);
  const contract = await sidecarContractEnv(t, minio, { ...env, STORAGED_CATALOG_URL: catalog.url });
  catalog.disposeLast();
  return contract;
});
