// Every object the daemon writes names itself (issue: a lost catalog must not
// lose the photos): a single PUT, a multipart upload begun while the body
// arrived, and the local backend's record beside the blob all carry the
// identity a rebuild needs, and keys live under the daemon's namespace.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { identityFromMetadata } from '../../src/daemon/blobs/object-identity';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const MIB = 1024 * 1024;

test('objects in MinIO carry their identity on both upload paths, under the namespace', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, {
    STORAGED_NAMESPACE: 'photos-a',
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
  });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  t.after(() => client.close());

  const small = pngBytes(20_000);
  const large = pngBytes(12 * MIB + 123);
  for (const [body, name] of [[small, 'beach_1.png'], [large, 'big-photo.png']] as const) {
    const stored = await client.storePhoto(body, { originalName: name, clientId: 'acme', userId: 'u-1', sessionId: 's-1' });
    assert.match(stored.s3_key, /^photos-a\/\d{4}\/\d{2}\/[0-9a-f-]{36}\.png$/);
    const stat = await minio.client.statObject(stored.bucket, stored.s3_key);
    const identity = identityFromMetadata(stat.metaData);
    assert.ok(identity, `${name}: identity in the object's metadata`);
    assert.equal(identity.id, stored.id);
    assert.equal(identity.clientId, 'acme');
    assert.equal(identity.userId, 'u-1');
    assert.equal(identity.sessionId, 's-1');
    assert.equal(identity.originalFilename, name);
    assert.equal(identity.mimeType, 'image/png');
    const photo = await client.getPhoto(stored.id);
    assert.equal(identity.uploadedAt, photo.uploaded_at);
    // A single PUT knows its size and digest; an upload begun while the body arrived cannot, and says so.
    if (body === small) {
      assert.equal(identity.size, small.length);
      assert.equal(identity.sha256, sha256(small));
    } else {
      assert.ok(identity.sha256 === null || identity.sha256 === sha256(large));
    }
  }
});

test('the local backend keeps the identity in a 0600 record beside the blob, hidden from listings', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const daemon = await spawnDaemon(t, daemonEnv(dataDir, null));
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  t.after(() => client.close());
  const body = pngBytes(5000);
  const stored = await client.storePhoto(body, { originalName: 'local.png', clientId: 'acme', userId: 'u-2' });
  assert.match(stored.s3_key, /^storaged\//);
  const record = path.join(dataDir, 'blobs', stored.bucket, `${stored.s3_key}.storaged-identity`);
  assert.equal(fs.statSync(record).mode & 0o777, 0o600);
  const identity = identityFromMetadata(JSON.parse(fs.readFileSync(record, 'utf8')));
  assert.equal(identity?.id, stored.id);
  assert.equal(identity?.originalFilename, 'local.png');
  assert.equal(identity?.sha256, sha256(body));
  await client.deletePhoto(stored.id);
  assert.equal(fs.existsSync(record), false, 'a delete removes the record with the blob');
});

test('STORAGED_BUCKET_PREFIX puts every bucket under the operator\'s names; rows keep the logical ones', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const env = daemonEnv(tempDir(t), minio, { STORAGED_BUCKET_PREFIX: 'acme-' });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  t.after(() => client.close());
  const body = pngBytes(3000);
  const stored = await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' });
  assert.equal(stored.bucket, 'images');
  const buckets = (await minio.client.listBuckets()).map((b) => b.name).sort();
  assert.deepEqual(buckets, ['acme-backups', 'acme-files', 'acme-images', 'acme-images-large', 'acme-videos']);
  assert.ok(identityFromMetadata((await minio.client.statObject('acme-images', stored.s3_key)).metaData));
  assert.equal(sha256(Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray())), sha256(body));
  const url = (await client.getPhoto(stored.id)).s3_url;
  assert.match(url, /\/acme-images\//);
  assert.equal(sha256(Buffer.from(await (await fetch(url)).arrayBuffer())), sha256(body), 'the presigned URL names the real bucket');
});

test('a bucket prefix S3 would refuse stops the daemon at start', () => {
  for (const bad of ['Acme-', '-acme', 'a_b', 'x'.repeat(52)]) {
    assert.throws(() => loadConfig({ STORAGED_DATA_DIR: '/tmp/x', STORAGED_BUCKET_PREFIX: bad }), /STORAGED_BUCKET_PREFIX/);
  }
  assert.equal(loadConfig({ STORAGED_DATA_DIR: '/tmp/x', STORAGED_BUCKET_PREFIX: 'team.a-' }).bucketPrefix, 'team.a-');
});
