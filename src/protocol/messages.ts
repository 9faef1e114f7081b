// Frames on the Unix socket. Each frame is a 4-byte big-endian length followed
// by one msgpack-encoded message. `id` correlates a call with its answer so
// many calls share one connection.
//
// A call:          client → {t:'call', id, op, args}
// Body of a store: client → {t:'chunk', id, data} … {t:'end', id}   (or {t:'abort', id})
// Flow control:    server → {t:'credit', id, chunks}   (chunks the client may send more; the
//                  first once the daemon starts reading the body, which may be much later)
// The answer:      server → {t:'result', id, value} | {t:'error', id, error}
// A download (readPhoto):
//                  server → {t:'stream', id, value: PhotoContentInfo}, then
//                  server → {t:'chunk', id, data} … {t:'end', id}   (or {t:'error', id, error} midway)
//                  client → {t:'credit', id, chunks}   (chunks the server may send more)
//                  client → {t:'abort', id}            (the reader stopped early)
// Handshake:       client → {t:'hello', version, clientId, token?}; server → {t:'hello', version, server, limits}

import type { WireError } from './errors';
import type { PhotoContentInfo } from './types';

export const PROTOCOL_VERSION = 1;

export const OPS = [
  'storePhoto',
  'getPhoto',
  'getPhotoUrl',
  'readPhoto',
  'updatePhotoMetadata',
  'deletePhoto',
  'searchPhotos',
  'getUserPhotos',
  /** The daemon's figures (types.ts DaemonStats): what storagectl stats shows. */
  'daemonStats',
] as const;
export type Op = (typeof OPS)[number];

/** `token`: the client's secret, when the daemon authenticates socket callers (STORAGED_SOCKET_AUTH=token). */
export interface HelloRequest { t: 'hello'; version: number; clientId: string; token?: string }
export interface HelloReply {
  t: 'hello';
  version: number;
  server: string;
  limits: { maxFrameBytes: number; chunkBytes: number; maxInFlight: number; uploadWindowChunks: number; maxBodyBytes: number };
}
export interface CallMessage { t: 'call'; id: number; op: Op; args: Record<string, unknown> }
export interface ChunkMessage { t: 'chunk'; id: number; data: Uint8Array }
export interface EndMessage { t: 'end'; id: number }
export interface AbortMessage { t: 'abort'; id: number }
export interface CreditMessage { t: 'credit'; id: number; chunks: number }
/** The head of a download: what the bytes are; chunk frames follow. */
export interface StreamMessage { t: 'stream'; id: number; value: PhotoContentInfo }
export interface ResultMessage { t: 'result'; id: number; value: unknown }
export interface ErrorMessage { t: 'error'; id: number; error: WireError }
/** Sent before the server closes a connection it cannot keep (bad frame, bad handshake). */
export interface FatalMessage { t: 'fatal'; error: WireError }

export type ClientMessage = HelloRequest | CallMessage | ChunkMessage | EndMessage | AbortMessage | CreditMessage;
export type ServerMessage =
  | HelloReply
  | CreditMessage
  | StreamMessage
  | ChunkMessage
  | EndMessage
  | ResultMessage
  | ErrorMessage
  | FatalMessage;
