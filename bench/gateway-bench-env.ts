// The gateway benchmarks' setting: the bench environment's daemon (its own
// process, real MinIO) with one gateway token, and a remote client holding it.

import { randomBytes } from 'node:crypto';
import { RemoteClient } from '../src/remote-client';
import { startBenchEnv, type BenchEnv } from './bench-env';

export const BENCH_CLIENT_ID = 'bench';

export interface GatewayBenchEnv extends BenchEnv {
  remote: RemoteClient;
  /** The gateway token; the socket asks for it in the hello too once tokens are configured. */
  token: string;
}

export async function startGatewayBenchEnv(connections: number, extraEnv: Record<string, string> = {}): Promise<GatewayBenchEnv> {
  const token = randomBytes(24).toString('base64url');
  const env = await startBenchEnv({ STORAGED_TOKENS: `${token} ${BENCH_CLIENT_ID}`, ...extraEnv });
  if (env.daemon.httpUrl === null) {
    await env.close();
    throw new Error('the bench daemon has no HTTP listener; the gateway benchmarks need STORAGED_GATEWAY on');
  }
  const remote = new RemoteClient({ url: env.daemon.httpUrl, token, clientId: BENCH_CLIENT_ID, connections });
  return {
    ...env,
    remote,
    token,
    async close() {
      await remote.close();
      await env.close();
    },
  };
}
