// What every BlobStore must do, whichever backend: one suite, run by
// fs-blob-store.test.ts on a temp directory and by minio-blob-store.test.ts
// against a real MinIO.

import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/protocol/errors';
import { BUCKETS } from '../../src/protocol/types';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import type { ObjectIdentity } from '../../src/daemon/blobs/object-identity';

export interface OpenedStore {
  store: BlobStore;
  close(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A key shaped like the daemon's own (`<year>/<month>/<uuid>.<ext>`), unique per call. */
function newKey(ext = 'jpg'): string {
  return `2026/11/${randomBytes(8).toString('hex')}.${ext}`;
}

export function blobStoreBehaviour(name: string, open: () => Promise<OpenedStore>): void {
  describe(`${name} blob store`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    let scratch: string;

    before(async () => {
      ({ store, close } = await open());
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-blob-src-'));
      await store.ensureBuckets(BUCKETS);
    });
    after(async () => {
      fs.rmSync(scratch, { recursive: true, force: true });
      await close();
    });

    it('ensureBuckets is idempotent', async () => {
      await store.ensureBuckets(BUCKETS);
      await store.ensureBuckets(['images']);
    });

    it('ping answers when the store is there', async () => {
      await store.ping();
    });

    it('puts a buffer and reads it back whole, with its size in stat', async () => {
      const key = newKey();
      const body = randomBytes(100_003);
      await store.put('images', key, { buffer: body }, body.length, 'image/jpeg');
      const info = await store.stat('images', key);
      assert.ok(info);
      assert.equal(info.size, body.length);
      assert.ok(info.lastModified instanceof Date);
      assert.ok(Math.abs(info.lastModified.getTime() - Date.now()) < 60_000, 'lastModified is about now');
      assert.equal(sha256(await readAll(await store.read('images', key))), sha256(body));
    });

    it('head gives size, mtime and identity in one look, identity and stat agree with it, and a missing object is null', async () => {
      const key = newKey();
      const body = randomBytes(5_001);
      const identity: ObjectIdentity = {
        id: '6f1c3a52-0d4e-4b8a-9c61-2f5e8d7b1a90', catalogId: 'c4a7'.repeat(8), clientId: 'c', userId: 'u', sessionId: null,
        originalFilename: 'été.jpg', mimeType: 'image/jpeg', size: body.length, sha256: sha256(body), uploadedAt: '2026-11-02T10:00:00.000Z',
      };
      await store.put('images', key, { buffer: body }, body.length, 'image/jpeg', undefined, undefined, identity);
      const head = await store.head('images', key);
      assert.ok(head);
      assert.equal(head.size, body.length);
      assert.equal(head.lastModified.getTime(), (await store.stat('images', key))?.lastModified.getTime());
      assert.deepEqual(head.identity, identity);
      assert.deepEqual(await store.identity('images', key), identity);

      const plain = newKey();
      await store.put('images', plain, { buffer: body }, body.length, 'image/jpeg');
      assert.equal((await store.head('images', plain))?.identity, null, 'an object stored without identity');
      assert.equal((await store.head('images', plain))?.size, body.length);
      assert.equal(await store.head('images', newKey()), null);
      assert.equal(await store.identity('images', newKey()), null);
    });

    it('puts from a file path', async () => {
      const key = newKey('png');
      const body = randomBytes(3 * 1024 * 1024 + 17);
      const file = path.join(scratch, 'spooled.bin');
      fs.writeFileSync(file, body);
      await store.put('images', key, { path: file }, body.length, 'image/png');
      assert.equal((await store.stat('images', key))?.size, body.length);
      assert.equal(sha256(await readAll(await store.read('images', key))), sha256(body));
    });

    it('stores an empty body', async () => {
      const key = newKey('bin');
      await store.put('files', key, { buffer: Buffer.alloc(0) }, 0, 'application/octet-stream');
      assert.equal((await store.stat('files', key))?.size, 0);
      assert.equal((await readAll(await store.read('files', key))).length, 0);
    });

    it('a second put of the same key replaces the bytes', async () => {
      const key = newKey();
      await store.put('images', key, { buffer: Buffer.from('first version') }, 13, 'image/jpeg');
      const second = Buffer.from('second');
      await store.put('images', key, { buffer: second }, second.length, 'image/jpeg');
      assert.deepEqual(await readAll(await store.read('images', key)), second);
    });

    it('reads byte ranges, including the first and the last byte', async () => {
      const key = newKey();
      const body = randomBytes(10_000);
      await store.put('images', key, { buffer: body }, body.length, 'image/jpeg');
      const cases: Array<[number, number]> = [
        [0, 0],
        [0, 99],
        [1234, 5678],
        [9_999, 9_999],
        [9_000, 9_999],
      ];
      for (const [start, end] of cases) {
        const got = await readAll(await store.read('images', key, { start, end }));
        assert.deepEqual(got, body.subarray(start, end + 1), `range ${start}-${end}`);
      }
    });

    it('stat of a missing object is null; read of one is NOT_FOUND', async () => {
      assert.equal(await store.stat('images', newKey()), null);
      await assert.rejects(store.read('images', newKey()), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, 'NOT_FOUND');
        return true;
      });
    });

    it('lists every object of a bucket with its size', async () => {
      // 'videos' is used by this test only, so the listing is exactly what it put.
      const expected = new Map<string, number>();
      for (const [i, key] of ['2026/10/a.mp4', '2026/11/b.mp4', '2026/11/c.webm', '2027/01/d.mp4'].entries()) {
        const body = randomBytes(10 + i);
        await store.put('videos', key, { buffer: body }, body.length, 'video/mp4');
        expected.set(key, body.length);
      }
      const listed = new Map<string, number>();
      for await (const blob of store.list('videos')) {
        assert.ok(blob.lastModified instanceof Date);
        listed.set(blob.key, blob.size);
      }
      assert.deepEqual([...listed].sort(), [...expected].sort());
    });

    it('lists an empty bucket as nothing', async () => {
      const seen: string[] = [];
      for await (const blob of store.list('images-large')) seen.push(blob.key);
      assert.deepEqual(seen, []);
    });

    it('remove deletes, and removing again (or something never stored) is fine', async () => {
      const key = newKey();
      await store.put('images', key, { buffer: Buffer.from('bye') }, 3, 'image/jpeg');
      await store.remove('images', key);
      assert.equal(await store.stat('images', key), null);
      await store.remove('images', key);
      await store.remove('images', newKey());
    });

    it('a presigned URL fetches the identical bytes', async () => {
      const key = newKey();
      const body = randomBytes(250_000);
      await store.put('images', key, { buffer: body }, body.length, 'image/jpeg');
      const url = await store.presignedGetUrl('images', key, 60);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(body.length));
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(body));
    });

    it('a presigned URL honours a Range header', async () => {
      const key = newKey();
      const body = randomBytes(1000);
      await store.put('images', key, { buffer: body }, body.length, 'image/jpeg');
      const res = await fetch(await store.presignedGetUrl('images', key, 60), { headers: { range: 'bytes=990-999' } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), 'bytes 990-999/1000');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body.subarray(990));
    });

    it('a presigned URL of a removed object answers 404', async () => {
      const key = newKey();
      await store.put('images', key, { buffer: Buffer.from('x') }, 1, 'image/jpeg');
      const url = await store.presignedGetUrl('images', key, 60);
      await store.remove('images', key);
      const res = await fetch(url);
      await res.arrayBuffer();
      assert.equal(res.status, 404);
    });

    it('abortIncompleteUploads on a bucket with none aborts nothing', async () => {
      assert.equal(await store.abortIncompleteUploads('files', 0), 0);
    });
  });
}
