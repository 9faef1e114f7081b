// storePhoto's options as the gateway's raw-body POST /photos carries them:
// STORE_HEADERS headers, or the same-named query parameters for values a
// header cannot carry as they are. Checks here are only the ones HTTP would
// otherwise blur (a number sent as text, an unknown option with no header to
// go in); every other rule is the daemon's, so both transports answer alike.

import { UnsupportedTypeError, ValidationError } from '../protocol/errors';
import { clientIdProblem } from '../protocol/client-id';
import { IDEMPOTENCY_KEY_HEADER, STORE_HEADERS } from '../protocol/http-api';
import { IDEMPOTENCY_KEY_PATTERN } from '../protocol/types';
import type { PhotoBody } from '../protocol/photo-storage';
import type { StorePhotoOptions } from '../protocol/types';

export interface StoreRequest {
  headers: Record<string, string>;
  /** Query string (with its `?`), or '' when every option fits a header. */
  query: string;
  body: Uint8Array | AsyncIterable<Uint8Array>;
  /** The error the caller's own stream threw, if it did: it is theirs, so it is rethrown as is. */
  sourceError(): unknown;
}

const ALLOWED_KEYS = ['originalName', 'contentType', 'clientId', 'sessionId', 'userId', 'metadata', 'sha256', 'size', 'idempotencyKey'];
// Printable ASCII travels in a header unchanged; anything else goes percent-encoded in the query.
const HEADER_SAFE = /^[\x20-\x7e]*$/;
// The gateway sniffs the bytes when no type is declared, as the daemon does for the sidecar.
const UNDECLARED_TYPE = 'application/octet-stream';
const ROUTED_TYPES = /^\s*(application\/json|multipart\/form-data)\s*(;|$)/i;
/**
 * The gateway takes 16 KiB of request line and headers; past that it answers
 * 431 and drops the connection, possibly mid-body. Options over this budget
 * are refused here, before a byte is sent, with a message that says why.
 */
export const MAX_OPTION_HEADER_BYTES = 12 * 1024;

function checkOptions(options: unknown, boundClientId: string | null): asserts options is StorePhotoOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError('storePhoto needs an options object');
  }
  const raw = options as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (raw[key] !== undefined && !ALLOWED_KEYS.includes(key)) {
      throw new ValidationError(`options has an unknown field "${key}"; allowed fields: ${ALLOWED_KEYS.join(', ')}`);
    }
  }
  if (raw['clientId'] === undefined) throw new ValidationError('options.clientId is required');
  if (boundClientId !== null && raw['clientId'] !== boundClientId) {
    throw new ValidationError(
      `options.clientId ${JSON.stringify(raw['clientId'])} differs from this client's clientId ${JSON.stringify(boundClientId)}`,
    );
  }
  const problem = clientIdProblem(raw['clientId']);
  if (problem !== null) throw new ValidationError(`options.${problem}`);
  if (raw['originalName'] === undefined) throw new ValidationError('options.originalName is required');
  for (const key of ['originalName', 'contentType', 'userId', 'sessionId', 'sha256']) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') throw new ValidationError(`options.${key} must be a string`);
  }
  if (raw['size'] !== undefined && (typeof raw['size'] !== 'number' || !Number.isSafeInteger(raw['size']) || raw['size'] < 0)) {
    throw new ValidationError('options.size must be a non-negative integer number of bytes');
  }
}

/** JSON with every non-ASCII character escaped, so it fits a header byte for byte. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function asBytes(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  throw new ValidationError(`the body stream yielded ${piece === null ? 'null' : typeof piece}; expected bytes`);
}

/** Bodies held in memory above this size go out in slices of it, each one a sign of progress. */
const SLICE_BYTES = 256 * 1024;

/** `onProgress` is called as each piece of the body goes out (the caller's idle timeout). */
export function storeRequest(data: PhotoBody, options: StorePhotoOptions, boundClientId: string | null, onProgress?: () => void): StoreRequest {
  checkOptions(options, boundClientId);
  if (options.contentType !== undefined && ROUTED_TYPES.test(options.contentType)) {
    // These select the gateway's other upload forms, so the raw route cannot declare them; no image is either.
    throw new UnsupportedTypeError(`content type ${options.contentType} cannot be declared for a photo stored through the gateway`);
  }
  const headers: Record<string, string> = { 'content-type': options.contentType ?? UNDECLARED_TYPE };
  const query = new URLSearchParams();
  const put = (header: string, param: string, value: string | undefined) => {
    if (value === undefined) return;
    if (HEADER_SAFE.test(value)) headers[header] = value;
    else query.set(param, value);
  };
  headers[STORE_HEADERS.filename] = encodeURIComponent(options.originalName);
  put(STORE_HEADERS.userId, 'userId', options.userId);
  put(STORE_HEADERS.sessionId, 'sessionId', options.sessionId);
  put(STORE_HEADERS.sha256, 'sha256', options.sha256);
  if (options.metadata !== undefined) headers[STORE_HEADERS.metadata] = asciiJson(options.metadata);
  if (options.idempotencyKey !== undefined) {
    // A key a header cannot carry as it is would reach the daemon changed: refused here, in the daemon's words.
    if (typeof options.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(options.idempotencyKey)) {
      throw new ValidationError('options.idempotencyKey must be 1 to 255 visible ASCII characters (a UUID, for example)');
    }
    headers[IDEMPOTENCY_KEY_HEADER] = options.idempotencyKey;
  }

  const optionBytes = Object.entries(headers).reduce((sum, [k, v]) => sum + k.length + v.length + 4, 0) + query.toString().length;
  if (optionBytes > MAX_OPTION_HEADER_BYTES) {
    throw new ValidationError(
      `storePhoto options take ${optionBytes} bytes as HTTP headers, more than the ${MAX_OPTION_HEADER_BYTES} the gateway route allows; ` +
        'shorten options.metadata (or store through the sidecar client, which allows more)',
    );
  }

  let failure: unknown;
  let body: StoreRequest['body'];
  if (data instanceof Uint8Array) {
    // undici sends a Buffer's length itself, so a different options.size can only be refused here (as the daemon words it).
    if (options.size !== undefined && options.size !== data.length) {
      throw new ValidationError(`options.size says ${options.size} bytes but the body has ${data.length} bytes`);
    }
    if (data.length <= SLICE_BYTES) {
      body = data;
    } else {
      // In slices, so that the call's timeout can follow the upload's progress.
      headers['content-length'] = String(data.length);
      body = (function* slices() {
        for (let at = 0; at < data.length; at += SLICE_BYTES) {
          onProgress?.();
          yield data.subarray(at, at + SLICE_BYTES);
        }
      })() as unknown as AsyncIterable<Uint8Array>;
    }
  } else if (data !== null && typeof data === 'object' && Symbol.asyncIterator in data) {
    const source = data as AsyncIterable<unknown>;
    // Content-Length lets the gateway refuse an oversized body before reading it.
    if (options.size !== undefined) headers['content-length'] = String(options.size);
    body = (async function* pull() {
      try {
        for await (const piece of source) {
          onProgress?.();
          yield asBytes(piece);
        }
      } catch (err) {
        failure = err;
        throw err;
      }
    })();
  } else {
    throw new ValidationError('storePhoto data must be a Buffer, a Uint8Array or a readable stream');
  }
  const text = query.toString();
  return { headers, query: text === '' ? '' : `?${text}`, body, sourceError: () => failure };
}
