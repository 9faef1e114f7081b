import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnavailableError } from '../../src/protocol/errors';
import { isNotFound, isUnreachable, mapMinioError } from '../../src/s3/minio-errors';

const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code });

test('MinIO unreachable, failing, or answering a status minio-js gave up retrying is UNAVAILABLE', () => {
  for (const err of [
    withCode('ECONNREFUSED'),
    withCode('ECONNRESET'),
    withCode('ServiceUnavailable'),
    Object.assign(new Error('socket'), { cause: { code: 'EPIPE' } }),
    // What minio-js throws when MinIO answers 499 while it shuts down, or 503, twice.
    new Error('Request failed after 1 retries: Error: Retryable HTTP status: 499'),
    new Error('Request failed after 1 retries: Error: Retryable HTTP status: 503'),
  ]) {
    assert.ok(isUnreachable(err), err.message);
    const mapped = mapMinioError(err, '127.0.0.1:9000', 'upload part 2');
    assert.ok(mapped instanceof UnavailableError, err.message);
    assert.match(mapped.message, /MinIO at 127\.0\.0\.1:9000 is unreachable: .+ while trying to upload part 2/);
  }
  assert.match((mapMinioError(new Error('Request failed after 1 retries: Error: Retryable HTTP status: 499'), 'h:1', 'x') as Error).message, /HTTP 499/);
});

test('a refusal, a missing object or a programming error is not turned into UNAVAILABLE', () => {
  for (const err of [withCode('AccessDenied'), withCode('NoSuchBucket'), new TypeError('x is not a function'), new Error('HTTP status 404')]) {
    assert.equal(isUnreachable(err), false, err.message);
    assert.equal(mapMinioError(err, 'h:1', 'x'), err);
  }
  assert.ok(isNotFound(withCode('NoSuchKey')));
  assert.ok(!isNotFound(withCode('NoSuchBucket')));
});
