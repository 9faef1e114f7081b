// readPhoto: the whole photo, ranges at either end, past the end, and a
// reader that stops early. The info must describe exactly the bytes sent.

import * as assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes, sha256 } from '../support/image-bytes';
import type { ContractCheck } from './client-contract';

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export const contentChecks: Record<string, ContractCheck> = {
  'readPhoto: the whole photo and its description': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(600 * 1024 + 3);
    const stored = await client.storePhoto(body, { originalName: 'whole read.png', clientId: 'acme' });
    const whole = await client.readPhoto(stored.id);
    assert.deepEqual(whole.info, {
      id: stored.id,
      mime_type: 'image/png',
      original_filename: 'whole read.png',
      checksum: sha256(body),
      size: body.length,
      start: 0,
      end: body.length - 1,
      length: body.length,
    });
    assert.equal(sha256(await collect(whole.body)), sha256(body));
  },

  'readPhoto: first byte, last byte, a middle range, an end past the size': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(300 * 1024);
    const { id } = await client.storePhoto(body, { originalName: 'ranges.png', clientId: 'acme' });
    const last = body.length - 1;
    const cases: Array<[{ start?: number; end?: number }, number, number]> = [
      [{ start: 0, end: 0 }, 0, 0],
      [{ start: last }, last, last],
      [{ start: 1000, end: 199_999 }, 1000, 199_999],
      [{ start: 5, end: body.length + 1000 }, 5, last],
      [{ end: 9 }, 0, 9],
    ];
    for (const [range, start, end] of cases) {
      const read = await client.readPhoto(id, range);
      const bytes = await collect(read.body);
      assert.deepEqual(
        { start: read.info.start, end: read.info.end, length: read.info.length, size: read.info.size },
        { start, end, length: end - start + 1, size: body.length },
        `range ${JSON.stringify(range)}`,
      );
      assert.ok(bytes.equals(body.subarray(start, end + 1)), `bytes of range ${JSON.stringify(range)}`);
      assert.equal(read.info.checksum, sha256(body));
    }
  },

  'readPhoto: a start at or past the size is RANGE_NOT_SATISFIABLE; an inverted range VALIDATION': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(10_000);
    const { id } = await client.storePhoto(body, { originalName: 'short.png', clientId: 'acme' });
    await rejectsWithCode(client.readPhoto(id, { start: body.length }), 'RANGE_NOT_SATISFIABLE');
    await rejectsWithCode(client.readPhoto(id, { start: body.length + 50, end: body.length + 60 }), 'RANGE_NOT_SATISFIABLE');
    await rejectsWithCode(client.readPhoto(id, { start: 10, end: 5 }), 'VALIDATION', /before range.start/);
    await rejectsWithCode(client.readPhoto(id, { start: 1.5 }), 'VALIDATION', /non-negative integer/);
  },

  'readPhoto: a reader that stops early frees the transport for the next call': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(3 * 1024 * 1024);
    const { id } = await client.storePhoto(body, { originalName: 'abandoned.png', clientId: 'acme' });
    for (let i = 0; i < 3; i++) {
      const read = await client.readPhoto(id);
      const first = await new Promise<Buffer>((resolve, reject) => {
        read.body.once('data', resolve);
        read.body.once('error', reject);
      });
      assert.ok(first.length > 0);
      read.body.destroy();
    }
    const again = await client.readPhoto(id, { start: body.length - 4 });
    assert.ok((await collect(again.body)).equals(body.subarray(body.length - 4)));
    assert.equal((await client.getPhoto(id)).size, body.length);
  },
};
