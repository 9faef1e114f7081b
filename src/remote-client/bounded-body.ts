// Reads a whole response body into memory, but never more than a limit: a
// misbehaving server (or a proxy's HTML page) must not grow the client's heap.

import type { Readable } from 'node:stream';
import { ProtocolError } from '../protocol/errors';

/** Drops a body nobody will read. undici reports a destroyed body as an error, which nobody waits for here. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

export async function readBounded(body: Readable, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      discard(body);
      throw new ProtocolError(`the gateway's answer is larger than ${maxBytes} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
