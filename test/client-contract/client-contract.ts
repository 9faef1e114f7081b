// One behavioural suite for every PhotoStorage transport. Each transport's
// test file calls describeClientContract with a way to build its clients, so
// the same checks, under the same names, run over the Unix socket and over
// the HTTP gateway, against a real daemon on real MinIO.

import { test, type TestContext } from 'node:test';
import type { PhotoStorage } from '../../src/protocol/photo-storage';
import type { StorageClientOptions } from '../../src/sidecar-client/storage-client';
import type { TestDaemon } from '../support/in-process-daemon';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { badInputChecks } from './contract-bad-input';
import { contentChecks } from './contract-content';
import { isolationChecks } from './contract-isolation';
import { listingChecks } from './contract-listing';
import { cacheChecks } from './contract-cache';
import { retryChecks } from './contract-retries';
import { storeChecks } from './contract-store';

/** The tenants every transport provides clients for. */
export type Tenant = 'acme' | 'rival';

/** Options a check gives its own client: the cache's and retries' (with injected clocks), direct URLs. */
export type ClientExtras = Pick<StorageClientOptions, 'cacheConfig' | 'minioConfig' | 'retry' | 'callTimeoutMs'>;

export interface ContractEnv {
  daemon: TestDaemon;
  minio: MinioHandle;
  /**
   * A client bound to the tenant (closed when the test ends); with `extras`,
   * a new one of its own with those options, otherwise one shared by the checks.
   */
  client(tenant: Tenant, extras?: ClientExtras): PhotoStorage;
}

/** Daemon settings every transport's daemon runs with, so limits are the same on both. */
export const CONTRACT_DAEMON_ENV = {
  STORAGED_MAX_BODY_BYTES: String(4 * 1024 * 1024),
  STORAGED_SPOOL_THRESHOLD_BYTES: String(256 * 1024),
};

export type ContractCheck = (t: TestContext, env: ContractEnv) => Promise<void>;

export function describeClientContract(
  transport: string,
  makeEnv: (t: TestContext, minio: MinioHandle, daemonEnv: Record<string, string>) => Promise<Omit<ContractEnv, 'minio'>>,
): void {
  test(`PhotoStorage contract over the ${transport}`, { timeout: 240_000 }, async (t) => {
    const minio = await startMinio(t);
    const env: ContractEnv = { ...(await makeEnv(t, minio, CONTRACT_DAEMON_ENV)), minio };
    const groups: Array<Record<string, ContractCheck>> = [
      storeChecks,
      contentChecks,
      listingChecks,
      isolationChecks,
      badInputChecks,
      cacheChecks,
      retryChecks,
    ];
    for (const group of groups) {
      for (const [name, check] of Object.entries(group)) await t.test(name, (sub) => check(sub, env));
    }
  });
}
