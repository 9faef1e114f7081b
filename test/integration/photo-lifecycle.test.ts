// The whole life of a photo through the sidecar client, on each blob backend:
// store → get → fetch the URL → search → update → delete → gone.

import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { BACKENDS, backendFor } from '../support/backends';
import { blobExists } from '../support/blob-presence';
import { rejectsWithCode } from '../support/expect-code';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

for (const backend of BACKENDS) {
  describe(`photo lifecycle on the ${backend} backend`, { timeout: 120_000 }, () => {
    test('store, get, fetch the URL, search, update, delete', async (t) => {
      const minio = await backendFor(t, backend);
      const d = await startTestDaemon(t, minio);
      const client = d.client('acme');
      const body = pngBytes(200 * 1024);

      const stored = await client.storePhoto(body, {
        originalName: 'beach-sunset_2024.png',
        contentType: 'image/png',
        clientId: 'acme',
        userId: 'user-1',
        sessionId: 'sess-9',
        metadata: { album: 'holidays' },
      });
      assert.match(stored.id, /^[0-9a-f-]{36}$/);
      assert.equal(stored.bucket, 'images');
      assert.equal(stored.size, body.length);
      assert.equal(stored.checksum, sha256(body));
      assert.equal(stored.processing_status, 'queued');
      assert.ok(await blobExists(minio, d.dataDir, stored.bucket, stored.s3_key));

      const photo = await client.getPhoto(stored.id);
      assert.equal(photo.original_filename, 'beach-sunset_2024.png');
      assert.equal(photo.mime_type, 'image/png');
      assert.equal(photo.client_id, 'acme');
      assert.equal(photo.user_id, 'user-1');
      assert.equal(photo.session_id, 'sess-9');
      assert.deepEqual(photo.metadata, { album: 'holidays' });
      assert.ok(Date.parse(photo.url_expires_at) > Date.now());

      const fetched = await fetch(photo.s3_url);
      assert.equal(fetched.status, 200);
      assert.equal(sha256(Buffer.from(await fetched.arrayBuffer())), sha256(body));
      const viaUrl = await fetch(await client.getPhotoUrl(stored.id, 60));
      assert.equal(sha256(Buffer.from(await viaUrl.arrayBuffer())), sha256(body));

      const byWord = await client.searchPhotos({ query: 'sunset' });
      assert.deepEqual(byWord.photos.map((p) => p.id), [stored.id]);
      assert.equal(byWord.total, 1);
      assert.equal(byWord.page.hasMore, false);
      const byFilters = await client.searchPhotos({ filters: { user_id: 'user-1', mime_type: ['image/png'] } });
      assert.deepEqual(byFilters.photos.map((p) => p.id), [stored.id]);
      assert.equal((await client.searchPhotos({ query: 'mountain' })).total, 0);
      assert.equal((await client.searchPhotos({ filters: { user_id: 'user-2' } })).total, 0);
      const userPage = await client.getUserPhotos('user-1');
      assert.deepEqual(userPage.photos.map((p) => p.id), [stored.id]);
      assert.equal(userPage.pagination.total, 1);

      const started = await client.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' });
      assert.equal(started.processing_status, 'in_progress');
      assert.ok(started.processing_started_at);
      const done = await client.updatePhotoMetadata(stored.id, {
        processing_status: 'completed',
        processing_metadata: { width: 1024 },
        width: 1024,
        height: 768,
      });
      assert.equal(done.processing_status, 'completed');
      assert.deepEqual(done.processing_metadata, { width: 1024 });
      assert.equal(done.width, 1024);
      await rejectsWithCode(client.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' }), 'CONFLICT');
      await rejectsWithCode(client.updatePhotoMetadata(stored.id, { client_id: 'other' } as never), 'VALIDATION');
      assert.equal((await client.getPhoto(stored.id)).processing_status, 'completed');

      await client.deletePhoto(stored.id);
      await rejectsWithCode(client.getPhoto(stored.id), 'NOT_FOUND');
      await rejectsWithCode(client.deletePhoto(stored.id), 'NOT_FOUND');
      assert.equal(await blobExists(minio, d.dataDir, stored.bucket, stored.s3_key), false);
      assert.equal((await client.searchPhotos({ query: 'sunset' })).total, 0);
    });

    test('a Readable stream body is stored byte for byte', async (t) => {
      const minio = await backendFor(t, backend);
      const d = await startTestDaemon(t, minio, { env: { STORAGED_SPOOL_THRESHOLD_BYTES: '1048576' } });
      const client = d.client('acme');
      const body = jpegBytes(3 * 1024 * 1024 + 17);
      const pieces = [];
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
      const fetched = Buffer.from(await (await fetch(photo.s3_url)).arrayBuffer());
      assert.equal(sha256(fetched), sha256(body));
    });
  });
}
