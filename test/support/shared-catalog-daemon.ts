// A daemon of a shared PostgreSQL catalog in its own process, under a node
// id, with its own data directory and socket: what the many-hosts tests
// start two or more of side by side.

import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { daemonEnv } from './daemon-env';
import { spawnDaemon, type DaemonProcess } from './daemon-process';
import type { MinioHandle } from './minio-server';
import { tempDir } from './temp-dir';

/** A function starting daemons of the catalog at `url` by node id, each with `env` on top of the shared settings. */
export function sharedCatalogStarter(t: TestContext, minio: MinioHandle, url: string, env: Record<string, string>): (node: string) => Promise<DaemonProcess> {
  return (node: string) => {
    const dir = tempDir(t);
    return spawnDaemon(t, daemonEnv(dir, minio, { STORAGED_CATALOG_URL: url, STORAGED_NODE_ID: node, STORAGED_SOCKET: path.join(dir, `${node}.sock`), ...env }));
  };
}
