// The Unix socket door into the coordinator. It frames, checks and forwards
// calls; what a call means is entirely the coordinator's business.

import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Coordinator } from '../coordinator/coordinator';
import type { Logger } from '../logger';
import { Connection, type ServerCounters } from './connection';
import { encodeFrame } from '../../protocol/frame-codec';
import { AdmissionRefusal } from '../admission/admission-refusal';
import { CallAdmission, DEFAULT_CALL_LIMITS } from '../admission/call-admission';
import type { AuthFailures } from '../admission/auth-failures';
import type { SocketAuth } from './hello-check';
import { claimSocketPath, listenWithMode, publishSocket, releaseSocketPath, socketIdentity, temporarySocketPath } from './socket-path';

export interface SocketServerOptions {
  path: string;
  coordinator: Coordinator;
  logger: Logger;
  maxBodyBytes: number;
  /** The daemon's version, told to clients at handshake. */
  version: string;
  /** Mode of the socket file; connecting needs write permission, so 0o660 admits owner and group. */
  mode?: number;
  /** How long close() lets calls in flight finish before cutting connections. */
  closeTimeoutMs?: number;
  /** How long a new connection may take to say hello. */
  helloTimeoutMs?: number;
  /** Who callers must prove they are (hello-check.ts); trusted when absent. */
  auth?: SocketAuth;
  /** Connections open at once (STORAGED_MAX_CONNECTIONS); one more is told UNAVAILABLE and closed. */
  maxConnections?: number;
  /** The daemon's slots for calls (shared with the gateway); its own, with the default limits, when absent. */
  admission?: CallAdmission;
  /** STORAGED_SOCKET_AUTH_FAILURE_RATE: wrong tokens in hellos, per Unix user where known (hello-check.ts); no limit when null or absent. */
  authFailures?: AuthFailures | null;
}

/**
 * Connections the kernel queues before the daemon accepts them (clamped to
 * net.core.somaxconn). A Unix socket's connect fails at once with EAGAIN when
 * this queue is full, rather than retrying as TCP does, so Node's 511 turned
 * a burst of connections (an application's pool starting) into errors.
 */
const LISTEN_BACKLOG = 4096;
/** Refused connections kept open at once until their client has read why (each is a file descriptor). */
const MAX_LINGERING = 4096;

/**
 * Each connection is a file descriptor and may hold 256 calls; 1024 of them
 * open (with 9,000 more refused around them) raised the daemon's peak RSS
 * from 84 to 148 MiB in test/admission/connection-flood.test.ts.
 */
export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface SocketServerStats {
  connections: number;
  /** Connections refused because maxConnections were open. */
  connectionsRefused: number;
  callsInFlight: number;
  callsTotal: number;
  protocolErrors: number;
  /** Hellos refused for a wrong token. */
  helloAuthFailures: number;
  /** Hellos refused RATE_LIMITED because too many wrong tokens came before them. */
  hellosRateLimited: number;
}

export class SocketServer {
  readonly #opts: Required<SocketServerOptions>;
  readonly #connections = new Set<Connection>();
  readonly #counters: ServerCounters = { callsInFlight: 0, callsTotal: 0, protocolErrors: 0 };
  #server: net.Server | null = null;
  #identity: { dev: number; ino: number } | null = null;
  #closing: Promise<void> | null = null;
  #refused = 0;
  #lingering = 0;

  constructor(opts: SocketServerOptions) {
    if (typeof opts.path !== 'string' || opts.path === '') throw new TypeError('path must be a non-empty string');
    if (!Number.isSafeInteger(opts.maxBodyBytes) || opts.maxBodyBytes < 0) {
      throw new RangeError(`maxBodyBytes must be a non-negative integer, got ${opts.maxBodyBytes}`);
    }
    if (opts.maxConnections !== undefined && (!Number.isSafeInteger(opts.maxConnections) || opts.maxConnections < 1)) {
      throw new RangeError(`maxConnections must be a positive integer, got ${opts.maxConnections}`);
    }
    this.#opts = {
      mode: 0o660,
      closeTimeoutMs: 10_000,
      helloTimeoutMs: 10_000,
      auth: { mode: 'trusted' },
      ...opts,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      admission: opts.admission ?? new CallAdmission(DEFAULT_CALL_LIMITS),
      authFailures: opts.authFailures ?? null,
    };
  }

  get path(): string {
    return this.#opts.path;
  }

  async listen(): Promise<void> {
    if (this.#server) throw new Error('the socket server is already listening');
    const { path: socketPath, mode, logger } = this.#opts;
    await claimSocketPath(socketPath);
    const tempPath = temporarySocketPath(socketPath);
    await fs.promises.unlink(tempPath).catch(() => undefined);
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    await listenWithMode(server, tempPath, LISTEN_BACKLOG, mode);
    server.on('error', (err) => logger.error({ err }, 'socket server error'));
    this.#server = server;
    try {
      // Already this mode from the bind; kept so that the mode holds where a platform's bind ignores the umask.
      await fs.promises.chmod(tempPath, mode);
      await publishSocket(tempPath, socketPath);
      this.#identity = await socketIdentity(socketPath);
    } catch (err) {
      await this.close();
      throw err;
    }
    logger.debug({ path: socketPath, mode: mode.toString(8) }, 'socket server listening');
  }

  /** Stops accepting, lets calls in flight finish (bounded), then closes every connection and removes the socket. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    const deadline = Date.now() + this.#opts.closeTimeoutMs;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const connections = [...this.#connections];
    for (const connection of connections) connection.drain();
    if (!(await settlesBy(Promise.all(connections.map((c) => c.closed)), deadline))) {
      this.#opts.logger.warn({ connections: this.#connections.size }, 'calls still in flight at shutdown; closing their connections');
      for (const connection of connections) connection.destroy();
    }
    await stopped;
    // Coordinator work can outlive its connection (cleanup after an abort); the caller closes the coordinator next.
    if (!(await settlesBy(Promise.all(connections.map((c) => c.settled())), deadline + 1000))) {
      this.#opts.logger.warn('coordinator calls still running after the socket server closed');
    }
    if (this.#identity) await releaseSocketPath(this.#opts.path, this.#identity);
  }

  stats(): SocketServerStats {
    const auth = this.#opts.authFailures?.stats();
    return {
      connections: this.#connections.size,
      connectionsRefused: this.#refused,
      ...this.#counters,
      helloAuthFailures: auth?.failures ?? 0,
      hellosRateLimited: auth?.refused ?? 0,
    };
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const { coordinator, logger, maxBodyBytes, version, helloTimeoutMs, auth, maxConnections, admission, authFailures } = this.#opts;
    if (this.#connections.size >= maxConnections) {
      this.#refuse(socket, maxConnections);
      return;
    }
    const connection = new Connection(socket, {
      coordinator,
      logger,
      maxBodyBytes,
      serverVersion: version,
      counters: this.#counters,
      helloTimeoutMs,
      auth,
      admission,
      authFailures,
    });
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
  }

  /**
   * Tells a connection past the limit why, in the frame a client reads as its
   * handshake's failure (a retryable UNAVAILABLE), and closes it. Its hello is
   * never read: whatever it sent is discarded with the socket.
   */
  #refuse(socket: net.Socket, maxConnections: number): void {
    this.#refused += 1;
    // One line per burst would be enough; a debug line per refusal keeps a flood from flooding the log.
    this.#opts.logger.debug({ maxConnections }, 'refused a socket connection past the limit');
    const error = new AdmissionRefusal(
      `storaged has its limit of ${maxConnections} socket connections open (STORAGED_MAX_CONNECTIONS); retry later, or share connections`,
      1,
    );
    socket.on('error', () => undefined);
    socket.end(encodeFrame({ t: 'fatal', error: error.toWire() }));
    // The hello is read and dropped until the client hangs up: closing first would fail the client's
    // write of its hello with EPIPE, which it may see before it reads why. A client busy opening
    // thousands of connections may take seconds to get there, so refused sockets linger up to the
    // hello timeout, but only so many at once: past that they close at once (still a retryable error).
    if (this.#lingering >= MAX_LINGERING) return void socket.destroy();
    this.#lingering += 1;
    const timer = setTimeout(() => socket.destroy(), this.#opts.helloTimeoutMs).unref();
    socket.once('close', () => {
      this.#lingering -= 1;
      clearTimeout(timer);
    });
    socket.once('end', () => socket.destroy());
    socket.resume();
  }
}

/** Whether `promise` settles before `deadline` (epoch ms). */
async function settlesBy(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
