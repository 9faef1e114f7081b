// The daemon's HTTP listener. For now it serves liveness and, with the local
// blob backend, the signed blob URLs that stand in for MinIO's presigned ones.
// The gateway routes for remote services are added here (issue: HTTP gateway).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class HttpServer {
  readonly #server: http.Server;

  constructor(
    private readonly handlers: RouteHandler[],
    private readonly logger: Logger,
  ) {
    this.#server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 60_000 }, (req, res) => this.#route(req, res));
    this.#server.on('clientError', (err, socket) => {
      this.logger.debug({ err }, 'bad HTTP request');
      socket.destroy();
    });
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      for (const handle of this.handlers) if (handle(req, res)) return;
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url?.split('?')[0]}` } });
    } catch (err) {
      this.logger.error({ err }, 'HTTP handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else res.destroy();
    }
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      // Downloads in progress get a moment to finish, then are cut.
      setTimeout(() => this.#server.closeAllConnections(), 5000).unref();
    });
  }
}
