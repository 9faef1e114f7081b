// MinIO behind a proxy that answers chunked: stores (single PUTs and
// multipart uploads from the workers), whole and ranged reads of small and
// multi-part objects, and presigned URLs all work. The workers' raw reader
// used to refuse chunked answers, breaking every large download.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startChunkingProxy } from '../support/chunking-proxy';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const MIB = 1024 * 1024;

test('MinIO behind a chunking proxy: stores, whole and ranged reads, and URLs work', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const proxy = await startChunkingProxy(t, { host: minio.endPoint, port: minio.port });
  const env = daemonEnv(tempDir(t), { ...minio, port: proxy.port }, {
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
  });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 60_000 });
  t.after(() => client.close());

  const small = pngBytes(200 * 1024);
  const large = pngBytes(13 * MIB + 77);
  const stored = [];
  for (const body of [small, large]) stored.push({ body, result: await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' }) });
  for (const { body, result } of stored) {
    assert.equal(sha256(Buffer.concat(await (await client.readPhoto(result.id)).body.toArray())), sha256(body), 'a whole read');
    const from = 5 * MIB - 10;
    const part = Buffer.concat(await (await client.readPhoto(result.id, { start: 100, end: Math.min(body.length - 1, from + 7 * MIB) })).body.toArray());
    assert.equal(sha256(part), sha256(body.subarray(100, Math.min(body.length, from + 7 * MIB + 1))), 'a ranged read across parts');
    const res = await fetch(result.s3_url);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(body), 'the URL through the proxy');
  }
  assert.ok(proxy.chunked > 10, `answers went through the proxy chunked (${proxy.chunked})`);
});
