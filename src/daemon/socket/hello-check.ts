// The daemon's side of the handshake: which hellos it accepts, and what it
// tells the client back (its version and the limits a client must respect).

import { clientIdProblem } from '../../protocol/client-id';
import { ProtocolError, ValidationError } from '../../protocol/errors';
import {
  CHUNK_BYTES,
  MAX_FRAME_BYTES,
  MAX_IN_FLIGHT_PER_CONNECTION,
  UPLOAD_WINDOW_CHUNKS,
} from '../../protocol/limits';
import { PROTOCOL_VERSION, type ClientMessage, type HelloReply } from '../../protocol/messages';

/** Checks a connection's first message; returns the reply, or throws the reason the connection is refused. */
export function acceptHello(
  message: ClientMessage,
  settings: { serverVersion: string; maxBodyBytes: number },
): { clientId: string; reply: HelloReply } {
  if (message.t !== 'hello') throw new ProtocolError(`expected hello as the first frame, got ${message.t}`);
  if (message.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${message.version} is not supported; this daemon speaks ${PROTOCOL_VERSION}`, {
      details: { supported: [PROTOCOL_VERSION] },
    });
  }
  const problem = clientIdProblem(message.clientId);
  if (problem !== null) throw new ValidationError(problem);
  return {
    clientId: message.clientId,
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
