// URLs signed in the client (minioConfig): no round trip to the daemon, and
// MinIO serves the right bytes from them; download overrides for types a
// browser could run, as the daemon signs them; the local backend (no MinIO)
// falls back to asking the daemon.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

test('getPhotoUrl signed in the client fetches the bytes from MinIO without asking the daemon', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const daemon = await startTestDaemon(t, minio, { env: { STORAGED_ALLOWED_TYPES: 'image/png,image/svg+xml', STORAGED_BUCKET_PREFIX: 'team-' } });
  const minioConfig = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, bucketPrefix: 'team-' };
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', minioConfig });
  t.after(() => client.close());
  const body = pngBytes(5000);
  const stored = await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' });
  await client.getPhoto(stored.id); // the one round trip: bucket and key, cached from here
  const calls = () => daemon.daemon.socket.stats().callsTotal;
  const before = calls();
  const urls = [await client.getPhotoUrl(stored.id, 120), await client.getPhotoUrl(stored.id, 3600), await client.getPhotoUrl(stored.id)];
  assert.equal(calls(), before, 'no call reached the daemon');
  assert.match(urls[0]!, /X-Amz-Expires=120&/);
  for (const url of urls) assert.equal(sha256(Buffer.from(await (await fetch(url)).arrayBuffer())), sha256(body));

  const svg = await client.storePhoto(SVG, { originalName: 'd.svg', clientId: 'acme', contentType: 'image/svg+xml' });
  const res = await fetch(await client.getPhotoUrl(svg.id, 300));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition')!, /^attachment; filename="d.svg"/);
  await res.arrayBuffer();
  await assert.rejects(client.getPhotoUrl(stored.id, 0), { code: 'VALIDATION' });
});

test('with the local backend the client asks the daemon, whose URLs are its own', { timeout: 60_000 }, async (t) => {
  const daemon = await startTestDaemon(t, null);
  const client = new StorageClient({
    socketPath: daemon.socketPath,
    clientId: 'acme',
    minioConfig: { endPoint: 'minio.invalid', port: 9000, useSSL: false, accessKey: 'a', secretKey: 'b' },
  });
  t.after(() => client.close());
  const body = pngBytes(3000);
  const stored = await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' });
  const url = await client.getPhotoUrl(stored.id, 300);
  assert.match(url, /\/blobs\//);
  assert.equal(sha256(Buffer.from(await (await fetch(url)).arrayBuffer())), sha256(body));
});
