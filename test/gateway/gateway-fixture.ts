// A real daemon with its gateway on a loopback port, two tenants and an admin,
// and undici helpers that speak to it.

import type { TestContext } from 'node:test';
import { request } from 'undici';
import { startTestDaemon, type TestDaemon } from '../support/in-process-daemon';
import type { MinioHandle } from '../support/minio-server';

export const TOKENS = {
  acme: 'acme-token-3f9a1c0d7e5b',
  globex: 'globex-token-8b2e4d6f0a1c',
  admin: 'admin-token-5c7e9a1b3d5f',
} as const;

export interface GatewayFixture extends TestDaemon {
  url: string;
  /** undici request with the tenant's bearer token (or none / a raw header when `auth` says so). */
  call(
    method: string,
    path: string,
    opts?: {
      as?: keyof typeof TOKENS | null;
      headers?: Record<string, string>;
      body?: string | Buffer | Uint8Array | AsyncIterable<Uint8Array> | FormData;
      signal?: AbortSignal;
    },
  ): Promise<Awaited<ReturnType<typeof request>>>;
  /** Like call, but reads the body as JSON. */
  json(
    method: string,
    path: string,
    opts?: Parameters<GatewayFixture['call']>[2],
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
}

export async function startGateway(t: TestContext, minio: MinioHandle | null, env: Record<string, string> = {}): Promise<GatewayFixture> {
  const d = await startTestDaemon(t, minio, {
    env: { STORAGED_TOKENS: `${TOKENS.acme} acme; ${TOKENS.globex} globex; ${TOKENS.admin} ops admin`, ...env },
  });
  const url = d.daemon.httpUrl!;
  const call: GatewayFixture['call'] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const as = opts.as === undefined ? 'acme' : opts.as;
    if (as !== null && headers.authorization === undefined) headers.authorization = `Bearer ${TOKENS[as]}`;
    return request(`${url}${path}`, { method: method as 'GET', headers, body: opts.body as never, signal: opts.signal ?? null });
  };
  return {
    ...d,
    url,
    call,
    async json(method, path, opts) {
      const res = await call(method, path, opts);
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
    },
  };
}

/** Polls `probe` until it returns something, for effects that follow a network event; fails after `ms`. */
export async function eventually<T>(probe: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
