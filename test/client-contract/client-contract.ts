// One behavioural suite for every PhotoStorage transport. Each transport's
// test file calls describeClientContract with a way to build its clients, so
// the same checks, under the same names, run over the Unix socket and over
// the HTTP gateway, against a real daemon on real MinIO.

import { test, type TestContext } from 'node:test';
import type { PhotoStorage } from '../../src/protocol/photo-storage';
import type { TestDaemon } from '../support/in-process-daemon';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { badInputChecks } from './contract-bad-input';
import { contentChecks } from './contract-content';
import { isolationChecks } from './contract-isolation';
import { listingChecks } from './contract-listing';
import { storeChecks } from './contract-store';

/** The tenants every transport provides clients for. */
export type Tenant = 'acme' | 'rival';

export interface ContractEnv {
  daemon: TestDaemon;
  minio: MinioHandle;
  /** A client bound to the tenant (closed when the test ends). */
  client(tenant: Tenant): PhotoStorage;
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
    const groups: Array<Record<string, ContractCheck>> = [storeChecks, contentChecks, listingChecks, isolationChecks, badInputChecks];
    for (const group of groups) {
      for (const [name, check] of Object.entries(group)) await t.test(name, (sub) => check(sub, env));
    }
  });
}
