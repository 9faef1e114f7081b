'use strict';
// Loads the compiled addon (build/Release, where node-gyp puts it). Requiring
// this package throws when it was not built (no compiler at install time):
// storaged reports that as a ConfigError when STORAGED_SOCKET_AUTH=peercred.
const binding = require('./build/Release/peer_credentials.node');

/**
 * The credentials the kernel recorded for the peer of a connected Unix socket.
 * @param {number} fd the socket's file descriptor
 * @returns {{ pid: number, uid: number, gid: number }}
 */
function peerCredentials(fd) {
  return binding.peerCredentials(fd);
}

module.exports = { peerCredentials };
