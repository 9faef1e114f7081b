// Starting a SocketServer under a fresh temp dir, and raw protocol connections
// to it; everything is torn down by the test's own t.after.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import type { Coordinator } from '../../src/daemon/coordinator/coordinator';
import { createLogger } from '../../src/daemon/logger';
import { SocketServer, type SocketServerOptions } from '../../src/daemon/socket/socket-server';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame-codec';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { StorageClient, type StorageClientOptions } from '../../src/sidecar-client/storage-client';
import { MemoryCoordinator } from './memory-coordinator';

export type Frame = Record<string, unknown>;

export function tempSocketDir(t: TestContext): string {
  // Short base: a Unix socket path must fit in about 100 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Harness<C extends Coordinator> {
  server: SocketServer;
  coordinator: C;
  socketPath: string;
  logs: Frame[];
  client(clientId?: string, opts?: Partial<StorageClientOptions>): StorageClient;
}

export async function startServer<C extends Coordinator = MemoryCoordinator>(
  t: TestContext,
  options: { coordinator?: C; maxBodyBytes?: number; server?: Partial<SocketServerOptions> } = {},
): Promise<Harness<C>> {
  const socketPath = path.join(tempSocketDir(t), 'storaged.sock');
  const coordinator = options.coordinator ?? (new MemoryCoordinator() as unknown as C);
  const logs: Frame[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const server = new SocketServer({
    path: socketPath,
    coordinator,
    logger: createLogger('debug', sink),
    maxBodyBytes: options.maxBodyBytes ?? 50 * 1024 * 1024,
    version: 'test',
    closeTimeoutMs: 2000,
    ...options.server,
  });
  await server.listen();
  const clients: StorageClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.close();
  });
  return {
    server,
    coordinator,
    socketPath,
    logs,
    client(clientId = 'acme', opts = {}) {
      const c = new StorageClient({ socketPath, clientId, ...opts });
      clients.push(c);
      return c;
    },
  };
}

export interface RawConnection {
  socket: net.Socket;
  frames: Frame[];
  closed: Promise<void>;
  send(message: unknown): void;
  waitFor(pred: (f: Frame) => boolean, ms?: number): Promise<Frame>;
}

/** A connection speaking the protocol by hand; `hello` false leaves the handshake to the test. */
export async function rawConnection(
  t: TestContext,
  socketPath: string,
  options: { hello?: boolean; clientId?: string } = {},
): Promise<RawConnection> {
  const socket = net.connect(socketPath);
  t.after(() => socket.destroy());
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (d) => frames.push(...(decoder.push(d) as Frame[])));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const waitFor = async (pred: (f: Frame) => boolean, ms = 5000): Promise<Frame> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = frames.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames).slice(0, 500)}`);
  };
  const connection: RawConnection = {
    socket,
    frames,
    closed,
    send: (message) => socket.write(encodeFrame(message)),
    waitFor,
  };
  if (options.hello !== false) {
    connection.send({ t: 'hello', version: PROTOCOL_VERSION, clientId: options.clientId ?? 'raw' });
    await waitFor((f) => f.t === 'hello');
  }
  return connection;
}

/** Resolves when `check` holds, polling; fails after `ms`. */
export async function eventually(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
