// The idle keep-alive connections of one thread to one plain-HTTP endpoint,
// for ranged reads: a part's request goes out on a warm connection instead of
// paying a TCP handshake. The most recently used connection is taken first,
// so the least recently used ones age out.

import { RawConnection } from './raw-connection';

/** Connections kept idle at most by default; a worker thread runs a few transfers at once. */
export const DEFAULT_MAX_IDLE = 16;

/**
 * An idle connection is closed after this long. Servers close idle
 * connections on their own schedule (Go's HTTP server, MinIO's, after its
 * IdleTimeout); closing ours first keeps a request from going out on a
 * connection the server is closing at that moment. undici's default is the same.
 */
export const IDLE_CLOSE_MS = 4_000;

export class ConnectionPool {
  readonly #host: string;
  readonly #port: number;
  readonly #idle: RawConnection[] = [];
  readonly #maxIdle: number;

  /** `maxIdle`: connections kept for reuse; one more given back is closed, and the next read past them pays a handshake. */
  constructor(host: string, port: number, maxIdle = DEFAULT_MAX_IDLE) {
    this.#maxIdle = maxIdle;
    this.#host = host;
    this.#port = port;
  }

  /** An idle connection, or a new one. Hand it back with give() or destroy it. */
  take(): RawConnection {
    const conn = this.#idle.pop();
    if (conn === undefined) return new RawConnection(this.#host, this.#port);
    conn.onIdleClose = null;
    return conn;
  }

  /** A connection whose last answer was read whole; it is kept if it may carry another request. */
  give(conn: RawConnection): void {
    if (conn.closed) return;
    if (this.#idle.length >= this.#maxIdle) {
      conn.destroy();
      return;
    }
    conn.onIdleClose = () => {
      const at = this.#idle.indexOf(conn);
      if (at !== -1) this.#idle.splice(at, 1);
    };
    conn.idle(IDLE_CLOSE_MS);
    this.#idle.push(conn);
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  close(): void {
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }
}
