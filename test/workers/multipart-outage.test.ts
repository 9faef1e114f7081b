// MinIO going away under a multipart upload: brief outages are ridden out by
// retries; a long one fails the upload with UNAVAILABLE and leaves the
// incomplete upload for recovery's sweep, which then removes it.

import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Piscina } from 'piscina';
import pino from 'pino';
import { MinioBlobStore } from '../../src/daemon/blobs/minio-blob-store';
import { multipartPut } from '../../src/daemon/blobs/multipart-put';
import { metricsOf } from '../../src/daemon/workers/pool-metrics';
import { rejectsWithCode } from '../support/expect-code';
import type { MinioHandle } from '../support/minio-server';
import { disposeMinioWithBody, incompleteUploads, minioWithBody, sha256OfStream, testPool, transfersFor, until } from './transfer-fixture';

const BUCKET = 'videos';
const SIZE = 40 * 1000 * 1000 + 777;
/** Long enough to span a MinIO restart (a few seconds here). */
const PATIENT = { attempts: 12, baseDelayMs: 200, maxDelayMs: 2000 };

describe('multipartPut while MinIO goes away', () => {
  let minio: MinioHandle;
  let pool: Piscina;
  let dir: string;
  let body: { path: string; sha256: string };
  before(async () => {
    ({ minio, dir, body } = await minioWithBody(BUCKET, SIZE, 'storaged-outage-'));
  });
  after(() => disposeMinioWithBody(minio, dir));
  pool = testPool({ after });

  const request = (key: string) => ({ bucket: BUCKET, key, path: body.path, size: SIZE, contentType: 'video/mp4' });

  it('retries parts through a MinIO restart mid-upload and completes with the right bytes', async () => {
    const metrics = metricsOf(pool);
    const uploadedBefore = metrics.bytesUploaded;
    const retriesBefore = metrics.partRetries;
    const upload = multipartPut(transfersFor(minio, pool, { concurrency: 1, retry: PATIENT }), request('2026/11/restart.bin'));
    await until(() => metrics.bytesUploaded > uploadedBefore, 'the first part');
    await minio.restart();
    const result = await upload;
    assert.equal(result.size, SIZE);
    assert.ok(metrics.partRetries > retriesBefore, 'some part was tried again after the restart');
    const back = await sha256OfStream(await minio.client.getObject(BUCKET, '2026/11/restart.bin'));
    assert.deepEqual(back, { sha256: body.sha256, size: SIZE });
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
  });

  it('retries starting the upload while MinIO is down, then goes through', async () => {
    await minio.stop();
    const upload = multipartPut(transfersFor(minio, pool, { retry: PATIENT }), request('2026/11/late-start.bin'));
    await minio.restart();
    assert.equal((await upload).size, SIZE);
    assert.equal((await minio.client.statObject(BUCKET, '2026/11/late-start.bin')).size, SIZE);
  });

  it('when MinIO stays down: UNAVAILABLE, the upload is left for recovery (logged), and recovery aborts it', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    const metrics = metricsOf(pool);
    const uploadedBefore = metrics.bytesUploaded;
    const t = { ...transfersFor(minio, pool, { concurrency: 1 }), logger };
    const upload = multipartPut(t, request('2026/11/stranded.bin'));
    await until(() => metrics.bytesUploaded > uploadedBefore, 'the first part');
    await minio.stop();
    await rejectsWithCode(upload, 'UNAVAILABLE', /unreachable|ECONNREFUSED|ECONNRESET/);

    const left = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => /recovery will abort it/.test(String(l.msg)));
    assert.ok(left, `a warning names the stranded upload; got ${lines.join('\n')}`);
    assert.equal(left.key, '2026/11/stranded.bin');
    assert.equal(typeof left.uploadId, 'string');
    assert.ok(!lines.some((l) => l.includes(minio.secretKey)), 'the secret key is never logged');

    await minio.restart();
    const key = '2026/11/stranded.bin';
    assert.deepEqual(await incompleteUploads(minio, BUCKET, key), [key]);
    // After a restart MinIO no longer lists it for the bucket at large: recovery must ask by key.
    assert.deepEqual(await incompleteUploads(minio, BUCKET), []);
    const { endPoint, port, useSSL, accessKey, secretKey } = minio;
    const store = new MinioBlobStore({ endPoint, port, useSSL, accessKey, secretKey }, pino({ level: 'silent' }));
    assert.equal(await store.abortIncompleteUploads(BUCKET, 0, key), 1);
    assert.deepEqual(await incompleteUploads(minio, BUCKET, key), []);
  });
});
