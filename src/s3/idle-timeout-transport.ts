// minio-js has no request timeout: a MinIO that accepts connections but stops
// answering would hold a store (and its caller) forever. This transport cuts a
// request whose socket sees no bytes either way for `idleMs`, with ETIMEDOUT,
// which the store reports as UNAVAILABLE. Transfers that keep moving, however
// long, are never cut.

import * as http from 'node:http';
import * as https from 'node:https';

export type Transport = Pick<typeof http, 'request'>;

export function idleTimeoutTransport(useSSL: boolean, idleMs: number): Transport {
  const base = useSSL ? https : http;
  const request = ((...args: Parameters<typeof http.request>) => {
    const req = (base.request as typeof http.request)(...args);
    req.setTimeout(idleMs, () => {
      const err = Object.assign(new Error(`no bytes from MinIO for ${idleMs} ms`), { code: 'ETIMEDOUT' });
      req.destroy(err);
    });
    return req;
  }) as typeof http.request;
  return { request };
}
