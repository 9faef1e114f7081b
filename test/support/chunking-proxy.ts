// A reverse proxy in front of MinIO that re-sends every answer with a body in
// chunked transfer encoding, as proxies and load balancers may: what the
// daemon and its workers meet when "any S3" sits behind one.

import { startForwardingProxy } from './forwarding-proxy';

export interface ChunkingProxy {
  port: number;
  /** Answers re-sent chunked so far. */
  chunked: number;
}

export async function startChunkingProxy(t: { after(fn: () => unknown): void }, target: { host: string; port: number }): Promise<ChunkingProxy> {
  const state: ChunkingProxy = { port: 0, chunked: 0 };
  state.port = await startForwardingProxy(t, target, (req, res, answer) => {
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
  return state;
}
