import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import pino from 'pino';
import { MinioBlobStore } from '../../src/daemon/blobs/minio-blob-store';
import { multipartPut } from '../../src/daemon/blobs/multipart-put';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { ClosedError } from '../../src/protocol/errors';
import { rejectsWithCode } from '../support/expect-code';
import type { MinioHandle } from '../support/minio-server';
import { disposeMinioWithBody, incompleteUploads, minioWithBody, MIB, sha256OfStream, testPool, transfersFor, until } from './transfer-fixture';

const BUCKET = 'images-large';
/** 8 parts of 5 MiB, the last one short. */
const SIZE = 40 * 1000 * 1000 + 12_345;

describe('multipartPut through the worker pool', () => {
  let minio: MinioHandle;
  let pool: Piscina;
  let dir: string;
  let body: { path: string; sha256: string };
  before(async () => {
    ({ minio, dir, body } = await minioWithBody(BUCKET, SIZE, 'storaged-multipart-'));
  });
  after(() => disposeMinioWithBody(minio, dir));
  pool = testPool({ after });

  it('uploads 40 MB in 5 MiB parts; the object reads back with the same sha256 and size', async () => {
    const metrics = metricsOf(pool);
    const uploadedBefore = metrics.bytesUploaded;
    const result = await multipartPut(transfersFor(minio, pool), {
      bucket: BUCKET,
      key: '2026/11/whole.bin',
      path: body.path,
      size: SIZE,
      contentType: 'application/octet-stream',
    });
    assert.deepEqual({ size: result.size, parts: result.parts }, { size: SIZE, parts: 8 });
    assert.match(result.etag, /-8$/, 'a multipart ETag names its part count');
    const back = await sha256OfStream(await minio.client.getObject(BUCKET, '2026/11/whole.bin'));
    assert.deepEqual(back, { sha256: body.sha256, size: SIZE });
    assert.equal(metrics.bytesUploaded - uploadedBefore, SIZE);
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
  });

  it('MinioBlobStore.put sends a spooled body larger than one part as a multipart upload', async () => {
    const { endPoint, port, useSSL, accessKey, secretKey } = minio;
    const store = new MinioBlobStore({ endPoint, port, useSSL, accessKey, secretKey }, pino({ level: 'silent' }), {
      pool,
      partBytes: 5 * MIB,
      concurrency: 3,
    });
    await store.put(BUCKET, '2026/11/via-store.bin', { path: body.path }, SIZE, 'video/mp4', body.sha256);
    const info = await minio.client.statObject(BUCKET, '2026/11/via-store.bin');
    assert.equal(info.size, SIZE);
    assert.match(info.etag, /-8$/);
    assert.equal(info.metaData['content-type'], 'video/mp4');
    const whole = await sha256OfStream(await store.read(BUCKET, '2026/11/via-store.bin'));
    assert.deepEqual(whole, { sha256: body.sha256, size: SIZE });
  });

  it('a part that fails for good (the file is shorter than the size given) aborts the upload: VALIDATION, no parts left', async () => {
    const metrics = metricsOf(pool);
    const abortedBefore = metrics.uploadsAborted;
    await rejectsWithCode(
      multipartPut(transfersFor(minio, pool, { concurrency: 2 }), {
        bucket: BUCKET,
        key: '2026/11/short.bin',
        path: body.path,
        size: SIZE + 6 * MIB,
        contentType: 'application/octet-stream',
      }),
      'VALIDATION',
      /holds 40012345 bytes; bytes \d+-\d+ were asked for/,
    );
    assert.equal(metrics.uploadsAborted - abortedBefore, 1);
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
    await rejectsWithCode(minio.client.statObject(BUCKET, '2026/11/short.bin'), 'NotFound');
  });

  it('a bucket that does not exist fails with NOT_FOUND and leaves nothing', async () => {
    await rejectsWithCode(
      multipartPut(transfersFor(minio, pool), { bucket: 'no-such-bucket', key: 'k.bin', path: body.path, size: SIZE, contentType: 'image/jpeg' }),
      'NOT_FOUND',
      /NoSuchBucket/,
    );
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
  });

  it('refuses sizes it cannot plan before anything reaches MinIO', async () => {
    const t = transfersFor(minio, pool);
    const request = { bucket: BUCKET, key: 'k.bin', path: body.path, contentType: 'image/jpeg' };
    await rejectsWithCode(multipartPut(t, { ...request, size: 0 }), 'VALIDATION', /positive integer/);
    await rejectsWithCode(multipartPut(t, { ...request, size: 1.5 }), 'VALIDATION', /positive integer/);
    await rejectsWithCode(multipartPut(t, { ...request, size: 10_001 * t.partBytes }), 'TOO_LARGE', /S3 allows 10000/);
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
  });

  it('an AbortSignal fired mid-upload aborts it with the signal reason; no parts, no object', async () => {
    const metrics = metricsOf(pool);
    const controller = new AbortController();
    const uploadedBefore = metrics.bytesUploaded;
    const upload = multipartPut(transfersFor(minio, pool, { concurrency: 1 }), {
      bucket: BUCKET,
      key: '2026/11/cancelled.bin',
      path: body.path,
      size: SIZE,
      contentType: 'application/octet-stream',
      signal: controller.signal,
    });
    // The first part is up; the rest are not.
    await until(() => metrics.bytesUploaded > uploadedBefore, 'the first part');
    controller.abort(new ClosedError('the caller went away during the upload'));
    await rejectsWithCode(upload, 'CLOSED', /caller went away/);
    assert.ok(metrics.bytesUploaded - uploadedBefore < SIZE, 'the upload stopped before its end');
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
    await rejectsWithCode(minio.client.statObject(BUCKET, '2026/11/cancelled.bin'), 'NotFound');
  });

  it('a signal already fired starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await rejectsWithCode(
      multipartPut(transfersFor(minio, pool), { bucket: BUCKET, key: 'k.bin', path: body.path, size: SIZE, contentType: 'image/jpeg', signal: controller.signal }),
      'CLOSED',
    );
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
  });
});
