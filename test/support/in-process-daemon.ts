// A real daemon (real SQLite file, real blob store, real Unix socket) in the
// test's own process, so tests can read its internal counters.

import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { Daemon } from '../../src/daemon/daemon';
import { createLogger } from '../../src/daemon/logger';
import { StorageClient, type StorageClientOptions } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from './daemon-env';
import type { MinioHandle } from './minio-server';
import { tempDir } from './temp-dir';

export interface TestDaemon {
  daemon: Daemon;
  dataDir: string;
  socketPath: string;
  /**
   * A client bound to `clientId` (with its token, when the test configured
   * STORAGED_TOKENS), closed when the test ends. It makes one try per call
   * (retry: false), so that tests see what the daemon answered; `extras`
   * adds or replaces options.
   */
  client(clientId: string, extras?: Partial<StorageClientOptions>): StorageClient;
  /** JSON log lines the daemon wrote. */
  logs: Array<Record<string, unknown>>;
}

export async function startTestDaemon(
  t: TestContext,
  minio: MinioHandle | null,
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? tempDir(t);
  const config = loadConfig(daemonEnv(dataDir, minio, options.env));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const daemon = await Daemon.start(config, createLogger(config.logLevel, sink));
  const clients: StorageClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await daemon.close();
  });
  return {
    daemon,
    dataDir,
    socketPath: config.socketPath,
    logs,
    client(clientId, extras) {
      const token = tokenOf(options.env?.STORAGED_TOKENS, clientId);
      const client = new StorageClient({ socketPath: config.socketPath, clientId, ...(token && { token }), retry: false, ...extras } as StorageClientOptions);
      clients.push(client);
      return client;
    },
  };
}

/** The token STORAGED_TOKENS (`token clientId [admin]` entries, `,` or `;` between them) gives `clientId`, if any. */
export function tokenOf(lines: string | undefined, clientId: string): string | undefined {
  for (const entry of (lines ?? '').split(/[,;]/)) {
    const [token, id] = entry.trim().split(/\s+/);
    if (id === clientId) return token;
  }
  return undefined;
}
