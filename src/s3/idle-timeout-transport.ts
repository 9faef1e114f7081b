// minio-js has no request timeout: a MinIO that accepts connections but stops
// answering would hold a store (and its caller) forever. This transport cuts a
// request whose socket sees no bytes either way for `idleMs`, with ETIMEDOUT,
// which the store reports as UNAVAILABLE. Transfers that keep moving, however
// long, are never cut.

import * as http from 'node:http';
import * as https from 'node:https';

export type Transport = Pick<typeof http, 'request'>;

/**
 * With `connectTo`, every request connects to that host whatever host its
 * options name: a virtual-hosted request (`bucket.endpoint`, objectAddress())
 * goes to the configured endpoint with the bucket in its Host header (and in
 * TLS's server name), so bucket names need no DNS of their own.
 */
export function idleTimeoutTransport(useSSL: boolean, idleMs: number, connectTo?: string): Transport {
  const base = useSSL ? https : http;
  const request = ((...args: Parameters<typeof http.request>) => {
    const [first] = args;
    if (connectTo !== undefined && typeof first === 'object' && first !== null && !(first instanceof URL)) {
      const options = first as https.RequestOptions;
      if (options.host !== undefined && options.host !== null && options.host !== connectTo) {
        const named = options.host;
        (args as unknown[])[0] = { ...options, host: connectTo, ...(useSSL && options.servername === undefined && { servername: named }) };
      }
    }
    const req = (base.request as typeof http.request)(...args);
    req.setTimeout(idleMs, () => {
      const err = Object.assign(new Error(`no bytes from MinIO for ${idleMs} ms`), { code: 'ETIMEDOUT' });
      req.destroy(err);
    });
    return req;
  }) as typeof http.request;
  return { request };
}
