// What the end-to-end benchmarks run against: a real MinIO and the compiled
// daemon in its own process, on temporary paths removed afterwards.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { daemonEnv } from '../test/support/daemon-env';
import { spawnDaemon, type DaemonProcess } from '../test/support/daemon-process';
import { startMinio, type MinioHandle } from '../test/support/minio-server';

export interface BenchEnv {
  minio: MinioHandle;
  daemon: DaemonProcess;
  close(): Promise<void>;
}

export async function startBenchEnv(extraEnv: Record<string, string> = {}): Promise<BenchEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-'));
  const minio = await startMinio();
  const daemon = await spawnDaemon(null, daemonEnv(dir, minio, extraEnv));
  return {
    minio,
    daemon,
    async close() {
      if (process.env.BENCH_DAEMON_OUT) fs.writeFileSync(process.env.BENCH_DAEMON_OUT, daemon.stdout());
      await daemon.stop('SIGTERM');
      await minio.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
