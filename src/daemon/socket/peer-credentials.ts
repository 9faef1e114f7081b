// The Unix user at the other end of a socket connection, for
// STORAGED_SOCKET_AUTH=peercred. Node.js exposes no SO_PEERCRED, so this goes
// through the hand-written addon in packages/peer-credentials (an optional
// dependency: without a compiler at install time it is simply not built, and
// the daemon refuses peercred at start instead of failing on a connection).

import type * as net from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export type ReadPeerCredentials = (fd: number) => PeerCredentials;

export const PEER_CREDENTIALS_PACKAGE = 'storaged-peer-credentials';

/** The addon's reader, or why it cannot be had (a sentence naming the fix). */
export function loadPeerCredentials(packageName: string = PEER_CREDENTIALS_PACKAGE): ReadPeerCredentials | { problem: string } {
  let addon: { peerCredentials?: unknown };
  try {
    addon = require(packageName) as { peerCredentials?: unknown };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'is not built' : `cannot be loaded (${(err as Error).message.split('\n')[0]})`;
    return {
      problem:
        `peercred needs the native addon ${packageName} (packages/peer-credentials), which ${reason}; ` +
        `build it with 'npm_config_nodedir=/usr npm rebuild ${packageName}' (needs python3, make and a C compiler; Linux only), ` +
        'or use token (one token per client in STORAGED_TOKENS_FILE)',
    };
  }
  if (typeof addon.peerCredentials !== 'function') return { problem: `${packageName} has no peerCredentials function; rebuild it` };
  return addon.peerCredentials as ReadPeerCredentials;
}

/**
 * The credentials of `socket`'s peer. The descriptor is libuv's, reached through
 * the handle Node keeps private (`_handle.fd`, a Pipe on Linux); when it is not
 * there (the socket already closed, or a Node that moved it) this throws rather
 * than let anyone in unidentified.
 */
export function peerOf(socket: net.Socket, read: ReadPeerCredentials): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor to read its peer from (closed already?)');
  return read(fd);
}
