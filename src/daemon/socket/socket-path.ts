// Taking and giving back the socket's path. A socket file left by a crashed
// daemon is replaced; a live daemon's socket, or anything that is not a socket,
// is never touched: starting twice must fail loudly, not steal the clients.
//
// The socket is bound under a temporary name, with its mode from the start
// (listenWithMode), then hard-linked to the real path: link() fails if the path
// exists, so two daemons starting at once cannot both win; and libuv, which
// unlinks the name it bound when the server closes, only ever removes the
// temporary name, never a successor's socket.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const PROBE_TIMEOUT_MS = 1000;

/** True if something accepts connections on `socketPath`, false if nobody listens there (the daemon is stopped). */
export function somebodyListens(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      // A listener too busy to accept is still a listener.
      resolve(true);
    }, PROBE_TIMEOUT_MS);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot tell whether ${socketPath} is in use: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Listens on `socketPath` with a socket file that is `mode` (or tighter) from
 * the moment it exists. bind(2) creates the file with 0777 & ~umask, and Node
 * takes no mode for it (readableAll/writableAll only chmod after the bind), so
 * a chmod afterwards left a window, as long as a busy thread pool makes it,
 * in which any local user could connect through the temporary name beside the
 * socket.
 *
 * The process umask is tightened around listen() and restored right after.
 * That covers the bind and only the bind because Node 20 binds a path
 * synchronously inside listen() (net.js setupListenHandle → Pipe#bind; only a
 * cluster worker's listen goes through the primary, and storaged is not one).
 * The umask is process-wide, so a file another thread creates in the same few
 * microseconds gets the tighter mask: tighter, never looser. The other way,
 * binding inside a private directory and linking out, leaves a directory
 * behind after a kill -9 at the wrong moment, and needs a second name within
 * sun_path's 108 bytes. process.umask() cannot be set in a worker thread: the
 * socket server runs on the main thread.
 */
export function listenWithMode(server: net.Server, socketPath: string, backlog: number, mode: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const previous = process.umask(0o777 & ~mode);
    try {
      server.listen({ path: socketPath, backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}

/** Makes `socketPath` free to listen on, or throws saying why it cannot be. */
export async function claimSocketPath(socketPath: string): Promise<void> {
  // Only directories created here get 0750; an existing parent keeps the mode its owner chose.
  await fs.promises.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  if (await somebodyListens(socketPath)) throw new Error(`another storaged is listening on ${socketPath}`);
  await fs.promises.unlink(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

let tempCounter = 0;

/** A name beside `socketPath` (same filesystem, so it can be linked), short enough for sun_path. */
export function temporarySocketPath(socketPath: string): string {
  tempCounter += 1;
  return path.join(path.dirname(socketPath), `.sd${process.pid}-${tempCounter}`);
}

/**
 * Publishes the socket bound at `tempPath` under `socketPath`, atomically; the
 * temporary name is removed either way.
 */
export async function publishSocket(tempPath: string, socketPath: string): Promise<void> {
  try {
    await fs.promises.link(tempPath, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`another storaged is listening on ${socketPath} (it appeared while this one started)`, { cause: err });
    }
    throw err;
  } finally {
    await fs.promises.unlink(tempPath).catch(() => undefined);
  }
}

/** The identity of the socket file we created, so that we only ever remove our own. */
export async function socketIdentity(socketPath: string): Promise<{ dev: number; ino: number }> {
  const { dev, ino } = await fs.promises.lstat(socketPath);
  return { dev, ino };
}

/** Removes the socket file if it is still the one we created (a successor may own the path by now). */
export async function releaseSocketPath(socketPath: string, ours: { dev: number; ino: number }): Promise<void> {
  try {
    const now = await fs.promises.lstat(socketPath);
    if (now.dev === ours.dev && now.ino === ours.ino) await fs.promises.unlink(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
