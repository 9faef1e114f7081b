import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { asTaskFailure } from '../../src/workers/failures';
import { getObjectRange } from '../../src/s3/get-object-range';
import { putPart } from '../../src/workers/s3/put-part';
import { S3Endpoint } from '../../src/s3/s3-endpoint';
import { TEST_CA } from './scripted-http-server';
import { startTlsMinio } from './tls-minio';
import { MIB } from './transfer-fixture';

test('over TLS, parts go up unsigned (TLS guards them) and ranges come back through node:https', async (t) => {
  const minio = await startTlsMinio(t);
  await minio.client.makeBucket('tls');
  const ep = new S3Endpoint(minio.settings, { ca: TEST_CA });
  t.after(() => ep.close());
  const key = 'dir with space/ümlaut.jpg';
  const parts = [randomBytes(5 * MIB), randomBytes(777)];
  const uploadId = await minio.client.initiateNewMultipartUpload('tls', key, {});
  const etags: string[] = [];
  for (const [i, bytes] of parts.entries()) {
    const body = Readable.from([bytes]);
    etags.push(await putPart(ep, { bucket: 'tls', key, uploadId, partNumber: i + 1, body, size: bytes.length, payloadHash: 'UNSIGNED-PAYLOAD' }));
  }
  await minio.client.completeMultipartUpload('tls', key, uploadId, etags.map((etag, i) => ({ part: i + 1, etag })));
  const whole = Buffer.concat(parts);
  const into = Buffer.alloc(2 * MIB);
  const got = await getObjectRange(ep, { bucket: 'tls', key, start: whole.length - 1000, end: whole.length - 1000 + into.length - 1 }, into);
  assert.deepEqual({ length: got.length, objectSize: got.objectSize }, { length: 1000, objectSize: whole.length });
  assert.equal(createHash('sha256').update(into.subarray(0, got.length)).digest('hex'), createHash('sha256').update(whole.subarray(-1000)).digest('hex'));
  try {
    await getObjectRange(ep, { bucket: 'tls', key: 'missing', start: 0, end: 9 }, Buffer.alloc(10));
    assert.fail('a missing key was read');
  } catch (err) {
    assert.deepEqual([asTaskFailure(err, 'read').kind, asTaskFailure(err, 'read').code], ['not-found', 'NoSuchKey']);
  }
});
