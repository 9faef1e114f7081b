// A TCP (or TLS) server on loopback that answers each HTTP request head with
// bytes a test writes itself: the way to make a server misbehave (reset,
// stall, chunked, garbage) that MinIO never would on purpose. What S3 means
// by its answers is tested against real MinIO (s3-client.test.ts).

import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface ScriptedRequest {
  /** The request head, up to and without the blank line. */
  head: string;
  socket: net.Socket;
  /** 1 for the server's first connection, and so on. */
  connection: number;
  /** 1 for the first request on its connection. */
  index: number;
  /** Ends the connection with a TCP RST (under TLS too). */
  reset(): void;
}

export interface ScriptedServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Request heads received, in order. */
  readonly requests: string[];
}

const FIXTURES = path.resolve(__dirname, '../../../test/workers/fixtures');

/** A self-signed certificate for 127.0.0.1 (test only): trust it with { ca: TEST_CA }. */
export const TEST_TLS = {
  key: fs.readFileSync(path.join(FIXTURES, 'tls-127.0.0.1.key')),
  cert: fs.readFileSync(path.join(FIXTURES, 'tls-127.0.0.1.crt')),
};
export const TEST_CA = TEST_TLS.cert;

export async function scriptedServer(
  t: { after(fn: () => unknown): void },
  answer: (req: ScriptedRequest) => void,
  options: { tls?: boolean } = {},
): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const state = { port: 0, connections: 0, requests: [] as string[] };
  const onSocket = (raw: net.Socket) => {
    const socket = options.tls === true ? new tls.TLSSocket(raw, { isServer: true, ...TEST_TLS }) : raw;
    const reset = () => raw.resetAndDestroy();
    const connection = ++state.connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    let index = 0;
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        state.requests.push(head);
        answer({ head, socket, connection, index: ++index, reset });
      }
    });
  };
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return state;
}

/** A 206 answer to a range of `body` starting at `start` of an object of `size` bytes. */
export function partialAnswer(body: Buffer, start: number, size: number, extraHeaders = ''): Buffer {
  const head =
    'HTTP/1.1 206 Partial Content\r\n' +
    `Content-Length: ${body.length}\r\n` +
    `Content-Range: bytes ${start}-${start + body.length - 1}/${size}\r\n` +
    extraHeaders +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** An S3 error answer with its XML body. */
export function errorAnswer(status: number, code: string, message: string, extraHeaders = ''): string {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>/b/k</Resource></Error>`;
  return `HTTP/1.1 ${status} X\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(xml)}\r\n${extraHeaders}\r\n${xml}`;
}
