// HMAC-SHA256 (RFC 2104) with a key fixed for many messages, built on the
// one-shot crypto.hash. createHmac makes a stream-backed object per call: under
// getPhoto load that was the daemon's largest source of garbage (each young-
// generation collection pauses every call in flight). Here the key's pads are
// computed once and the two hashes reuse one buffer each.
// test/blobs/hmac-sha256.test.ts checks it against createHmac.

import { hash } from 'node:crypto';

const BLOCK = 64;
const DIGEST = 32;

export class HmacSha256 {
  readonly #inner: Buffer;
  readonly #outer = Buffer.alloc(BLOCK + DIGEST);

  constructor(key: Buffer) {
    const block = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? hash('sha256', key, 'buffer') : key).copy(block);
    this.#inner = Buffer.alloc(BLOCK + 1024);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = block[i]! ^ 0x36;
      this.#outer[i] = block[i]! ^ 0x5c;
    }
  }

  /** The hex MAC of an ASCII message (what SigV4 signs). */
  hexOfAscii(message: string): string {
    let inner = this.#inner;
    if (BLOCK + message.length > inner.length) {
      inner = Buffer.alloc(BLOCK + message.length);
      this.#inner.copy(inner, 0, 0, BLOCK);
    }
    const length = BLOCK + inner.write(message, BLOCK, 'latin1');
    hash('sha256', inner.subarray(0, length), 'buffer').copy(this.#outer, BLOCK);
    return hash('sha256', this.#outer, 'hex');
  }
}
