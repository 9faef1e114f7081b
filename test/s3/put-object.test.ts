// The daemon's single PUT, made with src/s3's signer over node:http(s) instead
// of minio-js's @internal request API: against real MinIO over plain HTTP
// (the signed payload digest makes MinIO refuse different bytes) and over TLS
// (the digest travels as x-amz-checksum-sha256 and MinIO checks that).

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { identityFromMetadata, identityHeaders } from '../../src/daemon/blobs/object-identity';
import { idleTimeoutTransport } from '../../src/s3/idle-timeout-transport';
import { ObjectWriter } from '../../src/s3/put-object';
import { startMinio } from '../support/minio-server';
import { startTlsMinio } from '../workers/tls-minio';
import { TEST_TLS } from '../workers/scripted-http-server';

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const identity = {
  id: '0b6a3c1e-1d2f-4a5b-8c9d-0e1f2a3b4c5d', catalogId: '0123456789abcdef0123456789abcdef', clientId: 'acme', userId: null,
  sessionId: null, originalFilename: 'café (1).png', mimeType: 'image/png', size: 5, sha256: null, uploadedAt: '2026-12-04T00:00:00.000Z',
};

test('a PUT over plain HTTP stores the bytes with their metadata, and bytes other than the signed digest are refused', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  await minio.client.makeBucket('put-test');
  const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const writer = new ObjectWriter(settings, idleTimeoutTransport(false, 10_000), agent);
  const body = Buffer.from('hello');
  await writer.put({ bucket: 'put-test', key: 'ns/a b/ü.png', body, size: 5, contentType: 'image/png', sha256: digest(body), headers: identityHeaders(identity) });
  const stat = await minio.client.statObject('put-test', 'ns/a b/ü.png');
  assert.equal(stat.size, 5);
  assert.deepEqual(identityFromMetadata(stat.metaData), identity);
  await writer.put({ bucket: 'put-test', key: 'streamed', body: Readable.from([body]), size: 5, contentType: 'image/png', sha256: digest(body) });
  assert.equal((await minio.client.statObject('put-test', 'streamed')).size, 5);

  await assert.rejects(
    writer.put({ bucket: 'put-test', key: 'bad', body: Buffer.from('hellO'), size: 5, contentType: 'image/png', sha256: digest(body) }),
    (err: Error & { code?: string; status?: number }) => err.code === 'XAmzContentSHA256Mismatch' && err.status === 400,
  );
  await assert.rejects(minio.client.statObject('put-test', 'bad'), { code: 'NotFound' });
  await assert.rejects(
    writer.put({ bucket: 'no-such-bucket', key: 'x', body, size: 5, contentType: 'image/png', sha256: digest(body) }),
    { code: 'NoSuchBucket' },
  );
});

test('a PUT over TLS sends the digest as x-amz-checksum-sha256, which MinIO checks', { timeout: 60_000 }, async (t) => {
  const minio = await startTlsMinio(t);
  await minio.client.makeBucket('put-test');
  const agent = new https.Agent({ keepAlive: true, ca: TEST_TLS.cert });
  t.after(() => agent.destroy());
  const writer = new ObjectWriter(minio.settings, idleTimeoutTransport(true, 10_000), agent);
  const body = Buffer.from('over tls');
  await writer.put({ bucket: 'put-test', key: 'ok', body, size: body.length, contentType: 'image/png', sha256: digest(body) });
  assert.equal((await minio.client.statObject('put-test', 'ok')).size, body.length);
  await assert.rejects(
    writer.put({ bucket: 'put-test', key: 'bad', body, size: body.length, contentType: 'image/png', sha256: digest(Buffer.from('other')) }),
    (err: Error & { status?: number }) => err.status === 400,
  );
  await assert.rejects(minio.client.statObject('put-test', 'bad'), { code: 'NotFound' });
});

test('a multipart upload begun here carries its metadata into the completed object', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  await minio.client.makeBucket('put-test');
  const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const writer = new ObjectWriter(settings, idleTimeoutTransport(false, 10_000), agent);
  const uploadId = await writer.initiateMultipart('put-test', 'mp/ü.png', { 'content-type': 'image/png', ...identityHeaders(identity) });
  assert.match(uploadId, /\S{8,}/);
  const part = Buffer.from('only part');
  const { etag } = await minio.client.uploadPart({ bucketName: 'put-test', objectName: 'mp/ü.png', uploadID: uploadId, partNumber: 1, headers: {} }, part);
  await minio.client.completeMultipartUpload('put-test', 'mp/ü.png', uploadId, [{ part: 1, etag }]);
  const stat = await minio.client.statObject('put-test', 'mp/ü.png');
  assert.deepEqual(identityFromMetadata(stat.metaData), identity);
  await assert.rejects(writer.initiateMultipart('no-such-bucket', 'x', {}), { code: 'NoSuchBucket' });
});
