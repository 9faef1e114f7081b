// MINIO_PATH_STYLE=false: every request names its bucket in the Host header
// (`bucket.endpoint/key`), as AWS S3 and other stores want, against a real
// MinIO that takes virtual-hosted style (MINIO_DOMAIN set): the main thread's
// minio-js calls, the single PUT, the workers' multipart uploads and ranged
// reads, and presigned URLs; directly and through a proxy that answers
// chunked. Connections go to the endpoint itself, so bucket names need no DNS
// entries (glibc does not resolve bucket.localhost on this project's machines).

import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { startChunkingProxy } from '../support/chunking-proxy';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const MIB = 1024 * 1024;

/** GET a URL whose host is `bucket.localhost`, connecting to 127.0.0.1 (no DNS for bucket names here). */
function fetchVirtual(url: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, headers: { host: u.host } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

/** Stores, reads, URLs and deletes in virtual-hosted style, straight to MinIO or through a proxy that answers chunked. */
async function virtualHosted(t: TestContext, proxied: boolean): Promise<void> {
  const minio = await startMinio(t, { env: { MINIO_DOMAIN: 'localhost' } });
  // The proxy passes the Host header on, so MinIO still sees bucket.localhost.
  const port = proxied ? (await startChunkingProxy(t, { host: minio.endPoint, port: minio.port })).port : minio.port;
  const env = daemonEnv(tempDir(t), { ...minio, port }, {
    // A name, so that bucket.localhost is a virtual host MinIO recognises (MINIO_DOMAIN).
    MINIO_ENDPOINT: 'localhost',
    MINIO_PATH_STYLE: 'false',
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
  });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 60_000 });
  t.after(() => client.close());
  for (const body of [pngBytes(100 * 1024), pngBytes(12 * MIB + 5)]) {
    const stored = await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' });
    assert.equal((await minio.client.statObject(stored.bucket, stored.s3_key)).size, body.length);
    assert.equal(sha256(Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray())), sha256(body));
    const range = Buffer.concat(await (await client.readPhoto(stored.id, { start: 10, end: body.length - 10 })).body.toArray());
    assert.equal(sha256(range), sha256(body.subarray(10, body.length - 9)));
    const url = await client.getPhotoUrl(stored.id, 300);
    assert.match(url, new RegExp(`^http://${stored.bucket}\\.localhost:${port}/storaged/`), 'the bucket is in the host name');
    const fetched = await fetchVirtual(url);
    assert.equal(fetched.status, 200);
    assert.equal(sha256(fetched.body), sha256(body));
    await client.deletePhoto(stored.id);
    await assert.rejects(minio.client.statObject(stored.bucket, stored.s3_key), { code: 'NotFound' });
  }
}

test('virtual-hosted-style addressing against MinIO: stores, reads, URLs and deletes', { timeout: 120_000 }, (t) => virtualHosted(t, false));

test('virtual-hosted-style addressing through a proxy that answers chunked', { timeout: 120_000 }, (t) => virtualHosted(t, true));

test('MINIO_PATH_STYLE is read as a boolean and only with MINIO_ENDPOINT', () => {
  const minio = { STORAGED_DATA_DIR: '/tmp/x', MINIO_ENDPOINT: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' };
  assert.equal(loadConfig(minio).minio?.pathStyle, true);
  assert.equal(loadConfig({ ...minio, MINIO_PATH_STYLE: 'false' }).minio?.pathStyle, false);
  assert.throws(() => loadConfig({ ...minio, MINIO_PATH_STYLE: 'sometimes' }), /MINIO_PATH_STYLE/);
  assert.throws(() => loadConfig({ STORAGED_DATA_DIR: '/tmp/x', MINIO_PATH_STYLE: 'false' }), /MINIO_PATH_STYLE is set but MINIO_ENDPOINT is not/);
});
