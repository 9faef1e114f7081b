// A reverse proxy in front of MinIO that re-sends every answer with a body in
// chunked transfer encoding, as proxies and load balancers may: what the
// daemon and its workers meet when "any S3" sits behind one.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChunkingProxy {
  port: number;
  /** Answers re-sent chunked so far. */
  chunked: number;
}

export async function startChunkingProxy(t: { after(fn: () => unknown): void }, target: { host: string; port: number }): Promise<ChunkingProxy> {
  const state: ChunkingProxy = { port: 0, chunked: 0 };
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      const headers = { ...answer.headers };
      const bodyless = req.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304;
      if (!bodyless) {
        // No length: node sends the body chunked.
        delete headers['content-length'];
        state.chunked++;
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    agent.destroy();
  });
  return state;
}
