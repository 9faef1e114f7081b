// A reverse proxy in front of MinIO for tests of what the daemon meets when
// something sits between it and "any S3": every request is forwarded as it
// came; `answer` decides what becomes of MinIO's answer (pipe it, re-send it
// chunked, drop it).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type AnswerHandler = (req: http.IncomingMessage, res: http.ServerResponse, answer: http.IncomingMessage) => void;

/** Starts the proxy on a free loopback port, closed when the test ends; resolves to the port. */
export async function startForwardingProxy(t: { after(fn: () => unknown): void }, target: { host: string; port: number }, answer: AnswerHandler): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (reply) =>
      answer(req, res, reply),
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    agent.destroy();
  });
  return (server.address() as AddressInfo).port;
}
