/** What the kernel recorded about the process at the other end of a Unix socket when it connected. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * getsockopt(fd, SOL_SOCKET, SO_PEERCRED). Throws a TypeError/RangeError for an
 * argument that is no file descriptor, and an Error with `code` (EBADF,
 * ENOTSOCK, ...) when the kernel refuses, e.g. for a descriptor that is no
 * Unix socket.
 */
export function peerCredentials(fd: number): PeerCredentials;
