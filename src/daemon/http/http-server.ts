// The daemon's HTTP listener. Handlers are asked in order; with the gateway
// on, it is the last and answers everything the local backend's signed blob
// URLs do not. With the gateway off, only /health and the blob URLs remain.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Request line plus headers; past it the caller gets 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/**
 * Time to send the headers. There is no whole-request timeout: at 300 s it
 * cut off any upload slower than 17 MB/s at the 5 GiB limit. A body is
 * bounded by silence instead (the gateway's body idle timeout, request-body.ts).
 */
export const HEADERS_TIMEOUT_MS = 30_000;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
  res.end(text);
}

/** A raw answer for requests node:http could not parse; there is no ServerResponse for them. */
function rawError(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`;
}

/** Connections open at once unless STORAGED_GATEWAY_MAX_CONNECTIONS says otherwise. */
export const DEFAULT_MAX_HTTP_CONNECTIONS = 1024;
/** How long a refused connection is read (and discarded) after its answer, so a client still sending is not reset before it reads it. */
const REFUSED_LINGER_MS = 2000;

export class HttpServer {
  readonly #server: http.Server;
  readonly #maxConnections: number;
  #open = 0;
  #refused = 0;

  constructor(
    private readonly handlers: RouteHandler[],
    private readonly logger: Logger,
    maxConnections: number = DEFAULT_MAX_HTTP_CONNECTIONS,
  ) {
    if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) throw new RangeError(`maxConnections must be a positive integer, got ${maxConnections}`);
    this.#maxConnections = maxConnections;
    this.#server = http.createServer(
      { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 0 },
      (req, res) => this.#route(req, res),
    );
    // node:http's own 'connection' listener attaches its parser; a connection
    // past the limit must never reach it, so it runs behind the count. (The
    // server's maxConnections would close such a socket without a word.)
    const parse = this.#server.listeners('connection') as Array<(socket: net.Socket) => void>;
    this.#server.removeAllListeners('connection');
    this.#server.on('connection', (socket: net.Socket) => {
      if (this.#open >= this.#maxConnections) return this.#refuse(socket);
      this.#open += 1;
      socket.once('close', () => (this.#open -= 1));
      for (const listener of parse) listener.call(this.#server, socket);
    });
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      this.logger.debug({ err: { code: err.code, message: err.message } }, 'bad HTTP request');
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const answer =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? rawError(431, 'Request Header Fields Too Large', 'VALIDATION', `request line and headers exceed ${MAX_HEADER_BYTES} bytes`)
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? rawError(408, 'Request Timeout', 'TIMEOUT', 'the request took too long to arrive')
            : rawError(400, 'Bad Request', 'PROTOCOL', 'the request is not valid HTTP/1.1');
      socket.end(answer);
    });
  }

  /** Connections open now, idle keep-alive ones included (storagectl stats, /metrics). */
  get openConnections(): number {
    return this.#open;
  }

  /** Connections open now, and refused because the limit was reached. */
  connectionStats(): { open: number; refused: number } {
    return { open: this.#open, refused: this.#refused };
  }

  /** A 503 in the gateway's error shape before any request is read, then the connection ends. */
  #refuse(socket: net.Socket): void {
    this.#refused += 1;
    this.logger.debug({ maxConnections: this.#maxConnections }, 'refused an HTTP connection past the limit');
    const body = JSON.stringify({
      error: {
        code: 'UNAVAILABLE',
        message: `storaged has its limit of ${this.#maxConnections} HTTP connections open (STORAGED_GATEWAY_MAX_CONNECTIONS); retry later`,
        requestId: '',
        details: { retryAfterSeconds: 1 },
      },
    });
    socket.on('error', () => undefined);
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `retry-after: 1\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
    );
    // Closing with the request unread would reset the connection, and a reset may reach the client before the answer.
    socket.resume();
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      for (const handle of this.handlers) if (handle(req, res)) return;
      if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
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
