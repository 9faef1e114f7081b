// Runtime checks of decoded frames. msgpack gives back whatever the peer sent;
// these turn it into the typed messages of messages.ts or refuse it with a
// ProtocolError, so the code behind them can trust every field.

import { ProtocolError, ValidationError, isErrorCode, type WireError } from './errors';
import { CHUNK_BYTES, MAX_CREDIT_CHUNKS } from './limits';
import {
  OPS,
  type ClientMessage,
  type HelloReply,
  type Op,
  type ServerMessage,
} from './messages';
import type { PhotoContentInfo } from './types';

/**
 * A well-formed call whose op the daemon does not know. It is not a protocol
 * error: the call is answered with VALIDATION and the connection stays.
 */
export class UnknownOpError extends ValidationError {
  constructor(
    readonly callId: number,
    readonly op: string,
  ) {
    super(`unknown op ${JSON.stringify(op.slice(0, 64))}; expected one of ${OPS.join(', ')}`);
    this.name = 'UnknownOpError';
  }
}

type Fields = Record<string, unknown>;

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fail(what: string): never {
  throw new ProtocolError(`malformed frame: ${what}`);
}

function envelope(x: unknown): Fields & { t: string } {
  if (!isPlainObject(x)) fail('a message must be a map');
  if (typeof x.t !== 'string') fail('message type `t` must be a string');
  return x as Fields & { t: string };
}

function callId(m: Fields): number {
  const id = m.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    fail(`\`id\` must be a non-negative safe integer in a ${String(m.t)} message`);
  }
  return id;
}

function integer(m: Fields, key: string, min: number, where = `a ${String(m.t)} message`): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(`\`${key}\` must be an integer >= ${min} in ${where}`);
  }
  return v;
}

function chunkMessage(m: Fields): { t: 'chunk'; id: number; data: Uint8Array } {
  const id = callId(m);
  if (!(m.data instanceof Uint8Array)) fail('`data` must be binary in a chunk message');
  if (m.data.length > CHUNK_BYTES) fail(`chunk of ${m.data.length} bytes exceeds ${CHUNK_BYTES} bytes`);
  return { t: 'chunk', id, data: m.data };
}

function creditMessage(m: Fields): { t: 'credit'; id: number; chunks: number } {
  const chunks = integer(m, 'chunks', 1);
  if (chunks > MAX_CREDIT_CHUNKS) fail(`credit of ${chunks} chunks exceeds ${MAX_CREDIT_CHUNKS}`);
  return { t: 'credit', id: callId(m), chunks };
}

function isOp(value: string): value is Op {
  return (OPS as readonly string[]).includes(value);
}

/** Validates what a client sent. Throws ProtocolError, or UnknownOpError for a call to an op that does not exist. */
export function parseClientMessage(x: unknown): ClientMessage {
  const m = envelope(x);
  switch (m.t) {
    case 'hello':
      // The clientId's content is checked by the handshake, which answers with a precise reason.
      if (typeof m.clientId !== 'string') fail('`clientId` must be a string in a hello message');
      if (m.token === undefined) return { t: 'hello', version: integer(m, 'version', 0), clientId: m.clientId };
      // Bounded like the gateway's tokens; the handshake checks its value.
      if (typeof m.token !== 'string' || m.token.length > 512) fail('`token` must be a string of at most 512 characters in a hello message');
      return { t: 'hello', version: integer(m, 'version', 0), clientId: m.clientId, token: m.token };
    case 'call': {
      const id = callId(m);
      if (typeof m.op !== 'string') fail('`op` must be a string in a call message');
      if (!isPlainObject(m.args)) fail('`args` must be a map in a call message');
      if (!isOp(m.op)) throw new UnknownOpError(id, m.op);
      return { t: 'call', id, op: m.op, args: m.args };
    }
    case 'chunk':
      return chunkMessage(m);
    case 'end':
      return { t: 'end', id: callId(m) };
    case 'abort':
      return { t: 'abort', id: callId(m) };
    case 'credit':
      return creditMessage(m);
    default:
      return fail(`unknown client message type ${JSON.stringify(m.t.slice(0, 32))}`);
  }
}

function wireError(v: unknown, where: string): WireError {
  if (!isPlainObject(v) || typeof v.code !== 'string' || typeof v.message !== 'string') {
    fail(`\`error\` must be a map with string code and message in a ${where} message`);
  }
  if (v.details !== undefined && !isPlainObject(v.details)) fail(`\`error.details\` must be a map in a ${where} message`);
  // A code this build does not know (a newer peer) becomes INTERNAL, as errorFromWire would make it.
  const error: WireError = { code: isErrorCode(v.code) ? v.code : ('INTERNAL' as const), message: v.message };
  if (v.details !== undefined) error.details = v.details as Record<string, unknown>;
  return error;
}

const LIMIT_KEYS = ['maxFrameBytes', 'chunkBytes', 'maxInFlight', 'uploadWindowChunks', 'maxBodyBytes'] as const;

/** Validates what the daemon sent. Throws ProtocolError. */
export function parseServerMessage(x: unknown): ServerMessage {
  const m = envelope(x);
  switch (m.t) {
    case 'hello': {
      if (typeof m.server !== 'string') fail('`server` must be a string in a hello message');
      if (!isPlainObject(m.limits)) fail('`limits` must be a map in a hello message');
      const limits = {} as HelloReply['limits'];
      for (const key of LIMIT_KEYS) limits[key] = integer(m.limits, key, key === 'maxBodyBytes' ? 0 : 1, 'hello limits');
      return { t: 'hello', version: integer(m, 'version', 0), server: m.server, limits };
    }
    case 'credit':
      return creditMessage(m);
    case 'stream':
      if (!isPlainObject(m.value)) fail('`value` must be a map in a stream message');
      return { t: 'stream', id: callId(m), value: m.value as unknown as PhotoContentInfo };
    case 'chunk':
      return chunkMessage(m);
    case 'end':
      return { t: 'end', id: callId(m) };
    case 'result':
      return { t: 'result', id: callId(m), value: m.value };
    case 'error':
      return { t: 'error', id: callId(m), error: wireError(m.error, 'error') };
    case 'fatal':
      return { t: 'fatal', error: wireError(m.error, 'fatal') };
    default:
      return fail(`unknown server message type ${JSON.stringify(m.t.slice(0, 32))}`);
  }
}
