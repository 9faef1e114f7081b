// Turns a `POST /photos` request into the coordinator's storePhoto arguments:
// the options object and the body as an async iterable. Three forms: the raw
// body (options in headers or the query), the seed's JSON `{ data, options }`,
// and a browser's multipart/form-data. Every check of the options themselves
// is the coordinator's; this only says where each one came from.

import type * as http from 'node:http';
import { TooLargeError, ValidationError } from '../../protocol/errors';
import { IDEMPOTENCY_KEY_HEADER, STORE_HEADERS } from '../../protocol/http-api';
import type { MemoryBudget } from '../memory/memory-budget';
import { readJsonBody } from './json-body';
import { MultipartReader, multipartBoundary } from './multipart-reader';
import { requestBody } from './request-body';

export interface StoreRequest {
  options: Record<string, unknown>;
  body: AsyncIterable<Uint8Array>;
  /** Gives back the memory the request holds (a JSON upload's share of the budget) once the store is over. */
  release?: () => void;
}

export interface StoreRequestLimits {
  /** Largest JSON `{ data, options }` body (base64 inside). */
  maxJsonBytes: number;
  /** A JSON upload is read, parsed and decoded whole: it takes its share of this first, waiting past it. */
  memoryBudget?: MemoryBudget;
  /** The caller's call: a wait for memory ends when it goes away. */
  signal?: AbortSignal;
}

/**
 * Resident bytes per byte of a JSON upload: the request's pieces, their
 * concatenation, the parsed string (one byte per base64 character) and the
 * decoded file (3/4 of it), which the store holds until it is over.
 */
const JSON_UPLOAD_COST = 3.75;

const MULTIPART_LIMITS = { maxHeaderBytes: 8 * 1024, maxParts: 16, maxPreambleBytes: 16 * 1024 };
const MAX_FIELD_BYTES = 64 * 1024;
const FILE_FIELDS = ['file', 'photo'];
/** Multipart text fields and the store option each one sets. */
const FORM_FIELDS: Record<string, string> = { userId: 'userId', sessionId: 'sessionId', metadata: 'metadata', sha256: 'sha256' };

function mediaType(req: http.IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseMetadata(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(`${where} must be a JSON object of string values`);
  }
}

function fromHeaderOrQuery(req: http.IncomingMessage, query: URLSearchParams, header: string, param: string): string | undefined {
  const value = req.headers[header];
  if (Array.isArray(value)) throw new ValidationError(`header ${header} is given more than once`);
  return value ?? query.get(param) ?? undefined;
}

function rawStore(req: http.IncomingMessage, query: URLSearchParams, clientId: string): StoreRequest {
  const options: Record<string, unknown> = { clientId };
  const filename = fromHeaderOrQuery(req, query, STORE_HEADERS.filename, 'filename');
  if (filename === undefined) {
    throw new ValidationError(`the filename is required: send it percent-encoded in ${STORE_HEADERS.filename} or as ?filename=`);
  }
  try {
    // Headers carry it percent-encoded; the query is decoded already by URLSearchParams.
    options.originalName = req.headers[STORE_HEADERS.filename] === undefined ? filename : decodeURIComponent(filename);
  } catch {
    throw new ValidationError(`${STORE_HEADERS.filename} is not valid percent-encoded UTF-8`);
  }
  const type = mediaType(req);
  // Clients that do not know the type send octet-stream; the daemon then goes by the bytes.
  if (type !== '' && type !== 'application/octet-stream') options.contentType = req.headers['content-type'];
  const userId = fromHeaderOrQuery(req, query, STORE_HEADERS.userId, 'userId');
  if (userId !== undefined) options.userId = userId;
  const sessionId = fromHeaderOrQuery(req, query, STORE_HEADERS.sessionId, 'sessionId');
  if (sessionId !== undefined) options.sessionId = sessionId;
  const metadata = fromHeaderOrQuery(req, query, STORE_HEADERS.metadata, 'metadata');
  if (metadata !== undefined) options.metadata = parseMetadata(metadata, `${STORE_HEADERS.metadata} (or ?metadata=)`);
  const sha256 = fromHeaderOrQuery(req, query, STORE_HEADERS.sha256, 'sha256');
  if (sha256 !== undefined) options.sha256 = sha256;
  const length = req.headers['content-length'];
  // Lets the coordinator refuse an oversized body before reading a byte of it.
  if (length !== undefined) options.size = Number(length);
  return { options, body: requestBody(req) };
}

async function jsonStore(req: http.IncomingMessage, clientId: string, limits: StoreRequestLimits): Promise<StoreRequest> {
  // Without a length (chunked), the largest body allowed is what it may cost.
  const declared = req.headers['content-length'] === undefined ? limits.maxJsonBytes : Number(req.headers['content-length']);
  const share = (await limits.memoryBudget?.acquire(Math.ceil(JSON_UPLOAD_COST * declared), limits.signal)) ?? null;
  try {
    return { ...(await decodeJsonStore(req, clientId, limits)), ...(share && { release: () => share.release() }) };
  } catch (err) {
    share?.release();
    throw err;
  }
}

async function decodeJsonStore(req: http.IncomingMessage, clientId: string, limits: StoreRequestLimits): Promise<StoreRequest> {
  const parsed = await readJsonBody(req, limits.maxJsonBytes);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError('the JSON body must be an object { "data": "<base64>", "options": { ... } }');
  }
  const { data, options, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ValidationError(`the JSON body has an unknown field "${extra}"; expected data and options`);
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 === 1) {
    throw new ValidationError('"data" must be the file as a base64 string');
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError('"options" must be an object with at least originalName');
  }
  const bytes = Buffer.from(data, 'base64');
  // The seed's callers send their clientId; the coordinator refuses one that is not the token's.
  const merged: Record<string, unknown> = { clientId, ...(options as Record<string, unknown>) };
  return { options: merged, body: (async function* () { yield bytes; })() };
}

async function multipartStore(req: http.IncomingMessage, clientId: string): Promise<StoreRequest> {
  const reader = new MultipartReader(requestBody(req), multipartBoundary(req.headers['content-type']!), MULTIPART_LIMITS);
  const options: Record<string, unknown> = { clientId };
  for (;;) {
    const part = await reader.nextPart();
    if (part === null) throw new ValidationError(`the form has no file part (field ${FILE_FIELDS.join(' or ')})`);
    if (FILE_FIELDS.includes(part.name) && part.filename !== undefined) {
      options.originalName = part.filename;
      if (part.contentType !== undefined && mediaTypeOf(part.contentType) !== 'application/octet-stream') {
        options.contentType = part.contentType;
      }
      return { options, body: fileThenEnd(reader) };
    }
    const option = FORM_FIELDS[part.name];
    if (option === undefined || part.filename !== undefined) {
      throw new ValidationError(
        `unexpected form field '${part.name}'; expected ${Object.keys(FORM_FIELDS).join(', ')} and one file in ${FILE_FIELDS.join(' or ')}`,
      );
    }
    if (options[option] !== undefined) throw new ValidationError(`form field '${part.name}' is given more than once`);
    const text = await reader.text(part.name, MAX_FIELD_BYTES);
    options[option] = option === 'metadata' ? parseMetadata(text, "form field 'metadata'") : text;
  }
}

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/**
 * The file part's bytes; the body counts as received only once the form has
 * ended, so anything after the file (a field that would be ignored, a second
 * file) fails the store instead of being dropped silently.
 */
async function* fileThenEnd(reader: MultipartReader): AsyncGenerator<Buffer> {
  yield* reader.partBody();
  const after = await reader.nextPart();
  if (after !== null) {
    throw new ValidationError(`form field '${after.name}' comes after the file; send the other fields before the file part`);
  }
}

export async function readStoreRequest(
  req: http.IncomingMessage,
  query: URLSearchParams,
  clientId: string,
  limits: StoreRequestLimits,
): Promise<StoreRequest> {
  const request = await readStoreForm(req, query, clientId, limits);
  try {
    const key = req.headers[IDEMPOTENCY_KEY_HEADER];
    if (Array.isArray(key)) throw new ValidationError(`header ${IDEMPOTENCY_KEY_HEADER} is given more than once`);
    if (key !== undefined) {
      const given = request.options.idempotencyKey;
      if (given !== undefined && given !== key) {
        throw new ValidationError(`the ${IDEMPOTENCY_KEY_HEADER} header and options.idempotencyKey differ; send the key once`);
      }
      request.options.idempotencyKey = key;
    }
  } catch (err) {
    request.release?.();
    throw err;
  }
  return request;
}

async function readStoreForm(
  req: http.IncomingMessage,
  query: URLSearchParams,
  clientId: string,
  limits: StoreRequestLimits,
): Promise<StoreRequest> {
  const type = mediaType(req);
  if (type === 'application/json') {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > limits.maxJsonBytes) {
      throw new TooLargeError(`a JSON upload is limited to ${limits.maxJsonBytes} bytes; send larger files as the raw body`, {
        details: { limit: limits.maxJsonBytes },
      });
    }
    return jsonStore(req, clientId, limits);
  }
  if (type === 'multipart/form-data') return multipartStore(req, clientId);
  return rawStore(req, query, clientId);
}
