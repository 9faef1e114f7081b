// Bodies that pass the daemon's magic-number check: a real signature followed
// by random bytes (the daemon checks types, it does not decode images).

import { createHash, randomBytes } from 'node:crypto';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);

function withHead(head: Buffer, size: number): Buffer {
  if (size < head.length) throw new RangeError(`size must be at least ${head.length}`);
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

export const pngBytes = (size: number) => withHead(PNG_SIGNATURE, size);
export const jpegBytes = (size: number) => withHead(JPEG_HEAD, size);

export function sha256(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
