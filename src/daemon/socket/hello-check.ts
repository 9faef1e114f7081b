// The daemon's side of the handshake: which hellos it accepts, and what it
// tells the client back (its version and the limits a client must respect).

import { clientIdProblem } from '../../protocol/client-id';
import { ProtocolError, RateLimitedError, UnauthorizedError, ValidationError } from '../../protocol/errors';
import type { AuthFailures } from '../admission/auth-failures';
import type { GatewayTokens } from '../config/gateway-tokens';
import type { Logger } from '../logger';
import type { SocketUsers } from '../config/socket-users';
import type { PeerCredentials, ReadPeerCredentials } from './peer-credentials';
import {
  CHUNK_BYTES,
  MAX_FRAME_BYTES,
  MAX_IN_FLIGHT_PER_CONNECTION,
  UPLOAD_WINDOW_CHUNKS,
} from '../../protocol/limits';
import { PROTOCOL_VERSION, type ClientMessage, type HelloReply } from '../../protocol/messages';

/**
 * Who may say which client they are (STORAGED_SOCKET_AUTH). `token`: the hello
 * carries a token and the client id is the token's, never the caller's word.
 * `trusted`: the client id is taken as sent, so any process that may open the
 * socket may act as any client (the daemon warns at start), and is an admin:
 * holding back what an admin may read would guard nothing there.
 * `peercred`: the kernel says which Unix user connected (SO_PEERCRED, read with
 * `read`) and STORAGED_SOCKET_USERS says which client that user is; a user not
 * listed there may still prove itself with a token when tokens are configured.
 */
export type SocketAuth =
  | {
      mode: 'token';
      tokens: GatewayTokens;
      /** The peer reader when the addon is built: wrong tokens are then counted per Unix user, not per socket. */
      read?: ReadPeerCredentials;
    }
  | { mode: 'trusted' }
  | { mode: 'peercred'; users: SocketUsers; tokens: GatewayTokens; read: ReadPeerCredentials };

export interface HelloSettings {
  serverVersion: string;
  maxBodyBytes: number;
  auth: SocketAuth;
  /**
   * Wrong tokens in hellos (STORAGED_SOCKET_AUTH_FAILURE_RATE), counted per
   * Unix user when the kernel says who connected (the peer-credentials addon
   * is built), else over every connection together: a Unix socket's peer has
   * no address to count by. A guesser opens a new connection per guess, since
   * a refused hello closes its connection (one guess per connection). Null
   * for no limit.
   */
  authFailures: AuthFailures | null;
  logger: Logger;
}

/**
 * Whose allowance a wrong token spends: its Unix user's, so that one user
 * guessing tokens does not lock the others out; all peers' together when the
 * user is not known.
 */
function failureKey(peer: PeerCredentials | null): string {
  return peer === null ? 'socket' : `uid:${peer.uid}`;
}

/**
 * Checks a connection's first message; returns the reply, or throws the reason
 * the connection is refused. `peer`: who the kernel says connected (peercred
 * mode), null when it could not be read.
 */
export function acceptHello(
  message: ClientMessage,
  settings: HelloSettings,
  peer: PeerCredentials | null = null,
): { clientId: string; admin: boolean; reply: HelloReply } {
  if (message.t !== 'hello') throw new ProtocolError(`expected hello as the first frame, got ${message.t}`);
  if (message.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${message.version} is not supported; this daemon speaks ${PROTOCOL_VERSION}`, {
      details: { supported: [PROTOCOL_VERSION] },
    });
  }
  const problem = clientIdProblem(message.clientId);
  if (problem !== null) throw new ValidationError(problem);
  const { clientId, admin } = authenticate(message, settings, peer);
  return {
    clientId,
    admin,
    reply: {
      t: 'hello',
      version: PROTOCOL_VERSION,
      server: settings.serverVersion,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        chunkBytes: CHUNK_BYTES,
        maxInFlight: MAX_IN_FLIGHT_PER_CONNECTION,
        uploadWindowChunks: UPLOAD_WINDOW_CHUNKS,
        maxBodyBytes: settings.maxBodyBytes,
      },
    },
  };
}

function authenticate(
  hello: Extract<ClientMessage, { t: 'hello' }>,
  settings: HelloSettings,
  peer: PeerCredentials | null,
): { clientId: string; admin: boolean } {
  const { auth } = settings;
  if (auth.mode === 'trusted') return { clientId: hello.clientId, admin: true };
  if (auth.mode === 'peercred') return byPeer(hello, auth, peer, settings);
  return byToken(hello, auth.tokens, settings, peer);
}

/**
 * A listed Unix user is its client whatever the hello says or carries: the
 * kernel's word cannot be forged, a claimed client id can. Anyone else may
 * still show a token when there are tokens; without one they are refused.
 */
function byPeer(
  hello: Extract<ClientMessage, { t: 'hello' }>,
  auth: Extract<SocketAuth, { mode: 'peercred' }>,
  peer: PeerCredentials | null,
  settings: HelloSettings,
): { clientId: string; admin: boolean } {
  const user = peer === null ? null : auth.users.identify(peer.uid);
  if (user !== null) {
    if (user.clientId !== hello.clientId) {
      throw new UnauthorizedError(
        `this connection's Unix user (uid ${peer!.uid}) is client ${JSON.stringify(user.clientId)} in STORAGED_SOCKET_USERS, not ${JSON.stringify(hello.clientId)}`,
      );
    }
    return user;
  }
  if (auth.tokens.size > 0 && hello.token !== undefined) return byToken(hello, auth.tokens, settings, peer);
  const withToken = auth.tokens.size > 0;
  if (peer === null) {
    throw new UnauthorizedError(`the daemon could not read this connection's Unix user (its log says why)${withToken ? '; send a token in the hello' : ''}`);
  }
  const fix = withToken ? 'add it there or send a token in the hello' : "add it there (the daemon's setting)";
  throw new UnauthorizedError(`uid ${peer.uid} is not listed in STORAGED_SOCKET_USERS; ${fix}`);
}

function byToken(
  hello: Extract<ClientMessage, { t: 'hello' }>,
  tokens: GatewayTokens,
  settings: HelloSettings,
  peer: PeerCredentials | null,
): { clientId: string; admin: boolean } {
  const { authFailures } = settings;
  if (hello.token === undefined) {
    throw new UnauthorizedError('this daemon needs a token in the hello: give the client its token (new StorageClient({ socketPath, clientId, token }) or STORAGED_TOKEN)');
  }
  // While the allowance is spent no token is looked at, so a right guess is refused like a wrong one.
  const key = failureKey(peer);
  const waitSeconds = authFailures?.check(key) ?? 0;
  if (waitSeconds > 0) {
    throw new RateLimitedError(
      `too many hellos with a wrong token ${peer === null ? 'on this socket' : `from Unix user ${peer.uid}`} (STORAGED_SOCKET_AUTH_FAILURE_RATE); retry in ${waitSeconds} s`,
      { details: { retryAfterSeconds: waitSeconds } },
    );
  }
  const identity = tokens.identify(hello.token);
  if (identity === null) {
    if (authFailures?.fail(key)) {
      settings.logger.warn(
        { rate: authFailures.rate, ...(peer !== null && { uid: peer.uid, pid: peer.pid }) },
        `wrong tokens in socket hellos past STORAGED_SOCKET_AUTH_FAILURE_RATE: new connections ${peer === null ? '' : 'of this Unix user '}are refused RATE_LIMITED until the allowance grows back; open ones go on`,
      );
    }
    throw new UnauthorizedError('the token is not valid');
  }
  // The token decides; a client that believes it is someone else has the wrong token or the wrong clientId.
  if (identity.clientId !== hello.clientId) throw new UnauthorizedError(`the token is not one of client ${JSON.stringify(hello.clientId)}`);
  return { clientId: identity.clientId, admin: identity.admin };
}
