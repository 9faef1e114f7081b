import * as path from 'node:path';
import type { MinioHandle } from './minio-server';

/** The environment a test daemon runs with: everything under `dataDir`, HTTP on a free loopback port. */
export function daemonEnv(dataDir: string, minio: MinioHandle | null, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    STORAGED_DATA_DIR: dataDir,
    STORAGED_SOCKET: path.join(dataDir, 'd.sock'),
    HOST: '127.0.0.1',
    PORT: '0',
    // spawnDaemon waits for the info-level 'storaged ready' line.
    LOG_LEVEL: 'info',
  };
  if (minio !== null) {
    env.MINIO_ENDPOINT = minio.endPoint;
    env.MINIO_PORT = String(minio.port);
    env.MINIO_ACCESS_KEY = minio.accessKey;
    env.MINIO_SECRET_KEY = minio.secretKey;
    env.MINIO_USE_SSL = 'false';
  }
  return { ...env, ...extra };
}
