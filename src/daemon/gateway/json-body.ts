import type * as http from 'node:http';
import { TooLargeError, ValidationError } from '../../protocol/errors';
import { requestBody } from './request-body';

/** Reads and parses a JSON body of at most `maxBytes`; an empty body is undefined. */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new TooLargeError(`JSON body exceeds the limit of ${maxBytes} bytes`, { details: { limit: maxBytes } });
  }
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of requestBody(req)) {
    size += piece.byteLength;
    if (size > maxBytes) throw new TooLargeError(`JSON body exceeds the limit of ${maxBytes} bytes`, { details: { limit: maxBytes } });
    pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(pieces, size).toString('utf8'));
  } catch {
    throw new ValidationError('the request body is not valid JSON');
  }
}
