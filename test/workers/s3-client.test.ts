import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { asTaskFailure } from '../../src/workers/failures';
import { getObjectRange } from '../../src/s3/get-object-range';
import { putPart } from '../../src/workers/s3/put-part';
import { S3Endpoint } from '../../src/s3/s3-endpoint';
import type { TaskFailureKind } from '../../src/workers/task-types';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { MIB } from './transfer-fixture';

const BUCKET = 'parts';
// One key the daemon would make, one that every encoding rule touches.
const KEYS = ['2026/11/0b9a3c.jpg', "dir with space/ümlaut (1)*!'~.jpg"];

describe('the workers’ S3 client against MinIO', () => {
  let minio: MinioHandle;
  let ep: S3Endpoint;
  const body = randomBytes(5 * MIB + 123);
  const tail = randomBytes(1000);

  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const put = (key: string, uploadId: string, partNumber: number, bytes: Buffer, payloadHash = sha256(bytes), endpoint = ep) =>
    putPart(endpoint, { bucket: BUCKET, key, uploadId, partNumber, body: Readable.from([bytes]), size: bytes.length, payloadHash });
  const read = async (key: string, start: number, end: number, bucket = BUCKET, endpoint = ep) => {
    const into = Buffer.alloc(end - start + 1);
    const got = await getObjectRange(endpoint, { bucket, key, start, end }, into);
    return { bytes: into.subarray(0, got.length), objectSize: got.objectSize };
  };
  const kindOf = async (promise: Promise<unknown>): Promise<{ kind: TaskFailureKind; code?: string }> => {
    try {
      await promise;
    } catch (err) {
      return asTaskFailure(err, 'try');
    }
    assert.fail('it succeeded');
  };

  before(async () => {
    minio = await startMinio();
    await minio.client.makeBucket(BUCKET);
    const { endPoint, port, useSSL, accessKey, secretKey } = minio;
    ep = new S3Endpoint({ endPoint, port, useSSL, accessKey, secretKey, region: 'us-east-1', idleTimeoutMs: 30_000 });
  });
  after(async () => {
    ep.close();
    await minio.dispose();
  });

  it('uploads parts that MinIO accepts (signed payloads, keys that need encoding) and reads them back by range', async () => {
    for (const key of KEYS) {
      const uploadId = await minio.client.initiateNewMultipartUpload(BUCKET, key, {});
      const etags = [await put(key, uploadId, 1, body), await put(key, uploadId, 2, tail)];
      assert.deepEqual(etags, [createHash('md5').update(body).digest('hex'), createHash('md5').update(tail).digest('hex')]);
      await minio.client.completeMultipartUpload(BUCKET, key, uploadId, etags.map((etag, i) => ({ part: i + 1, etag })));
      const whole = Buffer.concat([body, tail]);
      assert.deepEqual(await read(key, 0, whole.length - 1), { bytes: whole, objectSize: whole.length });
      assert.deepEqual((await read(key, whole.length - 1, whole.length - 1)).bytes, whole.subarray(-1));
      // Past the end: what is there, and the size to tell.
      assert.deepEqual(await read(key, body.length, body.length + 2 * MIB), { bytes: tail, objectSize: whole.length });
    }
    // Reads in a row went over one kept connection.
    assert.equal(ep.connections!.idleCount, 1);
  });

  it('classifies what MinIO refuses as the tasks always have', async () => {
    const key = KEYS[0]!;
    const uploadId = await minio.client.initiateNewMultipartUpload(BUCKET, 'refusals', {});
    try {
      assert.deepEqual(await kindOf(read(key, 10 * MIB, 11 * MIB)), { kind: 'range', code: 'InvalidRange', message: "try: the range starts past the object's end", taskFailure: true });
      assert.equal((await kindOf(read('no/such/key', 0, 9))).code, 'NoSuchKey');
      assert.equal((await kindOf(read('no/such/key', 0, 9))).kind, 'not-found');
      assert.deepEqual(await kindOf(read(key, 0, 9, 'no-such-bucket')).then((f) => [f.kind, f.code]), ['not-found', 'NoSuchBucket']);
      assert.deepEqual(await kindOf(put('refusals', 'not-an-upload-id', 1, tail)).then((f) => [f.kind, f.code]), ['not-found', 'NoSuchUpload']);
      // Bytes that are not the ones signed: MinIO refuses them, nothing is stored.
      assert.deepEqual(await kindOf(put('refusals', uploadId, 1, tail, sha256(body))).then((f) => [f.kind, f.code]), ['checksum', 'XAmzContentSHA256Mismatch']);
      // minio-js declares listParts protected; it is what lists an upload's parts.
      const lister = minio.client as unknown as { listParts(bucket: string, key: string, uploadId: string): Promise<unknown[]> };
      assert.equal((await lister.listParts(BUCKET, 'refusals', uploadId)).length, 0);
    } finally {
      await minio.client.abortMultipartUpload(BUCKET, 'refusals', uploadId);
    }
  });

  it('a wrong secret is refused by MinIO (the signature is checked), and is not retried as transient', async (t) => {
    const { endPoint, port, useSSL, accessKey } = minio;
    const wrong = new S3Endpoint({ endPoint, port, useSSL, accessKey, secretKey: 'not-the-secret', region: 'us-east-1', idleTimeoutMs: 30_000 });
    t.after(() => wrong.close());
    assert.deepEqual(await kindOf(read(KEYS[0]!, 0, 9, BUCKET, wrong)).then((f) => [f.kind, f.code]), ['failed', 'SignatureDoesNotMatch']);
  });
});
