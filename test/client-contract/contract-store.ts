// Storing (a Buffer, a stream) and reading back what was stored: metadata,
// presigned URLs whose bytes hash the same.

import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { blobExists } from '../support/blob-presence';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import type { StorageClient } from '../../src/sidecar-client/storage-client';
import type { ContractCheck } from './client-contract';

async function fetchSha256(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url} answered ${res.status}`);
  return sha256(Buffer.from(await res.arrayBuffer()));
}

export const storeChecks: Record<string, ContractCheck> = {
  'the client cache answers a repeated getPhoto itself, and the same client\'s writes are seen at once': async (_t, env) => {
    const client = env.client('acme') as StorageClient;
    const stored = await client.storePhoto(pngBytes(3000), { originalName: 'cached.png', clientId: 'acme', userId: 'cache-user' });
    const first = await client.getPhoto(stored.id);
    const before = client.cacheStats();
    const second = await client.getPhoto(stored.id);
    assert.equal(second, first, 'the very object the first call decoded: no round trip');
    assert.equal(client.cacheStats().hits, before.hits + 1);
    assert.equal(await client.getPhotoUrl(stored.id, 900), await client.getPhotoUrl(stored.id, 900), 'a cached URL');

    await client.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' });
    assert.equal((await client.getPhoto(stored.id)).processing_status, 'in_progress', 'an update is seen at once');

    const listed = (await client.getUserPhotos('cache-user')).photos.length;
    await client.storePhoto(pngBytes(3001), { originalName: 'cached-2.png', clientId: 'acme', userId: 'cache-user' });
    assert.equal((await client.getUserPhotos('cache-user')).photos.length, listed + 1, "a store drops that user's cached listings");

    await client.deletePhoto(stored.id);
    await assert.rejects(client.getPhoto(stored.id), { code: 'NOT_FOUND' }, 'a delete is never answered from the cache');
  },
  'file names from any script are stored as sent (NFC), read back and found by search': async (_t, env) => {
    const client = env.client('acme');
    const names = ['photo (1).jpg', 'café au lait.png', '照片.png', 'фото отпуск.png', 'صورة.png', '😀 smile.png', 'cafe\u0301 noir.png'];
    const ids: string[] = [];
    for (const name of names) {
      const body = name.endsWith('.jpg') ? jpegBytes(3000) : pngBytes(3000 + ids.length);
      const stored = await client.storePhoto(body, { originalName: name, clientId: 'acme', userId: 'unicode-user' });
      ids.push(stored.id);
      assert.equal((await client.getPhoto(stored.id)).original_filename, name.normalize('NFC'));
    }
    const found = async (query: string) =>
      (await client.searchPhotos({ query, filters: { user_id: 'unicode-user' } })).photos.map((p) => p.original_filename).sort();
    assert.deepEqual(await found('cafe'), ['café au lait.png', 'café noir.png'], 'accents fold: cafe finds café');
    assert.deepEqual(await found('照片'), ['照片.png']);
    assert.deepEqual(await found('фото'), ['фото отпуск.png']);
    assert.deepEqual(await found('(1)'), ['photo (1).jpg']);
    await assert.rejects(client.storePhoto(pngBytes(100), { originalName: 'photo\u202Egpj.exe', clientId: 'acme' }), { code: 'VALIDATION' });
    for (const id of ids) await client.deletePhoto(id);
  },
  'store a Buffer, get its metadata, fetch its URLs': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(200 * 1024);
    const stored = await client.storePhoto(body, {
      originalName: 'beach-sunset_2024.png',
      contentType: 'image/png',
      clientId: 'acme',
      userId: 'store-user',
      sessionId: 'sess-9',
      metadata: { album: 'holidays', note: 'été' },
    });
    assert.match(stored.id, /^[0-9a-f-]{36}$/);
    assert.equal(stored.bucket, 'images');
    assert.equal(stored.size, body.length);
    assert.equal(stored.checksum, sha256(body));
    assert.equal(stored.processing_status, 'queued');
    assert.ok(await blobExists(env.minio, env.daemon.dataDir, stored.bucket, stored.s3_key));
    assert.equal(await fetchSha256(stored.s3_url), sha256(body));

    const photo = await client.getPhoto(stored.id);
    assert.equal(photo.id, stored.id);
    assert.equal(photo.original_filename, 'beach-sunset_2024.png');
    assert.equal(photo.mime_type, 'image/png');
    assert.equal(photo.client_id, 'acme');
    assert.equal(photo.user_id, 'store-user');
    assert.equal(photo.session_id, 'sess-9');
    assert.deepEqual(photo.metadata, { album: 'holidays', note: 'été' });
    assert.equal(photo.size, body.length);
    assert.ok(Date.parse(photo.url_expires_at) > Date.now());
    assert.equal(await fetchSha256(photo.s3_url), sha256(body));
    assert.equal(await fetchSha256(await client.getPhotoUrl(stored.id, 60)), sha256(body));
    assert.equal(await fetchSha256(await client.getPhotoUrl(stored.id)), sha256(body));
  },

  'store a stream with its sha256, byte for byte': async (_t, env) => {
    const client = env.client('acme');
    const body = jpegBytes(3 * 1024 * 1024 + 17);
    const pieces: Buffer[] = [];
    for (let i = 0; i < body.length; i += 100_000) pieces.push(body.subarray(i, i + 100_000));
    const stored = await client.storePhoto(Readable.from(pieces), {
      originalName: 'streamed.jpg',
      clientId: 'acme',
      sha256: sha256(body),
    });
    assert.equal(stored.size, body.length);
    assert.equal(stored.checksum, sha256(body));
    const photo = await client.getPhoto(stored.id);
    assert.equal(photo.mime_type, 'image/jpeg');
    assert.equal(await fetchSha256(photo.s3_url), sha256(body));
  },

  'store an async generator without a declared type: the bytes decide': async (_t, env) => {
    const client = env.client('acme');
    const body = pngBytes(50_000);
    const stored = await client.storePhoto(
      (async function* () {
        yield body.subarray(0, 7);
        yield body.subarray(7);
      })(),
      { originalName: 'no-type.bin', clientId: 'acme' },
    );
    assert.equal((await client.getPhoto(stored.id)).mime_type, 'image/png');
    assert.equal(stored.checksum, sha256(body));
  },

  'store with ten metadata values of 1000 characters, read back unchanged': async (_t, env) => {
    const client = env.client('acme');
    const metadata = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`key_${i}`, `${i}ü`.padEnd(1000, 'x')]));
    const stored = await client.storePhoto(pngBytes(1000), { originalName: 'tagged.png', clientId: 'acme', metadata });
    assert.deepEqual((await client.getPhoto(stored.id)).metadata, metadata);
  },
};
