// Opening a connection to the daemon: connect, say hello, read the daemon's
// hello (its version and limits). Anything else, or silence, fails the attempt.

import * as net from 'node:net';
import { ClosedError, ProtocolError, StorageError, TimeoutError, UnavailableError, errorFromWire } from '../protocol/errors';
import { encodeFrame, FrameDecoder } from '../protocol/frame-codec';
import { parseServerMessage } from '../protocol/message-guards';
import { PROTOCOL_VERSION, type HelloReply } from '../protocol/messages';

export interface Greeted {
  socket: net.Socket;
  decoder: FrameDecoder;
  hello: HelloReply;
}

/** Who the client says it is; with `token`, a daemon that authenticates socket callers can check it. */
export interface HelloIdentity {
  clientId: string;
  token?: string;
}

export function connectAndGreet(socketPath: string, identity: HelloIdentity, timeoutMs: number): Promise<Greeted> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const decoder = new FrameDecoder();
    let done = false;
    const finish = (err: StorageError | null, hello?: HelloReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve({ socket, decoder, hello: hello! });
      }
    };
    const timer = setTimeout(
      () => finish(new TimeoutError(`storaged at ${socketPath} did not complete the handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onError = (err: NodeJS.ErrnoException) => {
      const reason =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `storaged is not listening on ${socketPath}`
          : `cannot connect to storaged at ${socketPath}: ${err.message}`;
      finish(new UnavailableError(reason, { cause: err }));
    };
    const onClose = () => finish(new ClosedError('storaged closed the connection during the handshake'));
    const onData = (chunk: Buffer) => {
      try {
        const messages = decoder.push(chunk).map(parseServerMessage);
        if (messages.length === 0) return;
        const first = messages[0]!;
        if (first.t === 'fatal') throw errorFromWire(first.error);
        if (first.t !== 'hello') throw new ProtocolError(`expected hello from storaged, got ${first.t}`);
        if (first.version !== PROTOCOL_VERSION) {
          throw new ProtocolError(`storaged speaks protocol ${first.version}; this client speaks ${PROTOCOL_VERSION}`);
        }
        // We have sent no call yet, so nothing else may follow the hello.
        if (messages.length > 1) throw new ProtocolError('storaged sent frames before any call');
        finish(null, first);
      } catch (err) {
        finish(err instanceof StorageError ? err : new ProtocolError(String(err), { cause: err }));
      }
    };
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('data', onData);
    socket.once('connect', () => socket.write(encodeFrame({ t: 'hello', version: PROTOCOL_VERSION, ...identity })));
  });
}
