import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromTaskFailure } from '../../src/daemon/workers/task-failure';
import { ErrorCodes, StorageError } from '../../src/protocol/errors';
import { asTaskFailure, cancelledError, failure } from '../../src/workers/failures';
import type { TaskFailureKind } from '../../src/workers/task-types';

describe('task failures across the thread boundary', () => {
  it('every kind becomes the storaged error a caller can act on, message and code kept', () => {
    const table: Array<[TaskFailureKind, string, boolean]> = [
      ['transient', ErrorCodes.UNAVAILABLE, true],
      ['invalid', ErrorCodes.VALIDATION, false],
      ['not-found', ErrorCodes.NOT_FOUND, false],
      ['range', ErrorCodes.RANGE_NOT_SATISFIABLE, false],
      ['checksum', ErrorCodes.CHECKSUM_MISMATCH, false],
      ['cancelled', ErrorCodes.CLOSED, true],
      ['failed', ErrorCodes.INTERNAL, false],
    ];
    for (const [kind, code, retryable] of table) {
      // What structured clone leaves of the thrown object: plain data.
      const crossed = structuredClone(failure(kind, `why ${kind}`, 'XCODE'));
      const err = fromTaskFailure(crossed);
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, code, kind);
      assert.equal(err.message, `why ${kind}`);
      assert.equal(err.retryable, retryable, kind);
      assert.deepEqual(err.details, { code: 'XCODE' });
    }
  });

  it('a crashed thread (a plain Error from Piscina) is INTERNAL without leaking its text', () => {
    const err = fromTaskFailure(new Error('Terminating worker thread'));
    assert.equal(err.code, ErrorCodes.INTERNAL);
    assert.equal(err.message, 'a worker thread failed');
  });

  it('classifies what MinIO and the file system throw', () => {
    const s3 = (code: string) => Object.assign(new Error(`S3 said ${code}`), { code });
    const cases: Array<[unknown, TaskFailureKind]> = [
      [s3('ECONNREFUSED'), 'transient'],
      [s3('ECONNRESET'), 'transient'],
      [s3('ETIMEDOUT'), 'transient'],
      [s3('SlowDown'), 'transient'],
      [s3('InternalError'), 'transient'],
      [Object.assign(new Error('wrapped'), { cause: { code: 'ECONNRESET' } }), 'transient'],
      [s3('NoSuchKey'), 'not-found'],
      [s3('NoSuchBucket'), 'not-found'],
      [s3('NoSuchUpload'), 'not-found'],
      [s3('InvalidRange'), 'range'],
      [s3('XAmzContentSHA256Mismatch'), 'checksum'],
      [s3('ENOENT'), 'invalid'],
      [s3('AccessDenied'), 'failed'],
    ];
    // What the workers' own S3 client throws: answers carry their status too.
    const answer = (status: number, code: string) => Object.assign(new Error(`MinIO answered ${status} ${code}`), { code, status });
    cases.push(
      [answer(503, 'SlowDown'), 'transient'],
      [answer(500, 'InternalError'), 'transient'],
      // minio-js gave up on these statuses before reading the body: whatever it says, they are transient.
      [answer(499, 'HTTP_499'), 'transient'],
      [answer(502, 'NoSuchKey'), 'transient'],
      [answer(404, 'NotFound'), 'not-found'],
      [answer(404, 'NoSuchKey'), 'not-found'],
      [answer(416, 'InvalidRange'), 'range'],
      [answer(400, 'BadDigest'), 'checksum'],
      [answer(507, 'XMinioStorageFull'), 'failed'],
      [answer(403, 'SignatureDoesNotMatch'), 'failed'],
      [cancelledError(), 'cancelled'],
      [Object.assign(new Error('a malformed header line'), { code: 'ERR_S3_BAD_RESPONSE' }), 'failed'],
    );
    for (const [err, kind] of cases) assert.equal(asTaskFailure(err, 'try').kind, kind, String((err as Error).message));
    const already = failure('invalid', 'kept as is');
    assert.equal(asTaskFailure(already, 'try'), already);
  });
});

describe('messages of transient failures', () => {
  it('keep what the error said, and its code when the text does not name it', () => {
    const node = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    assert.equal(asTaskFailure(node, 'read').message, 'read: connect ECONNREFUSED 127.0.0.1:9000');
    const ours = Object.assign(new Error('no bytes from MinIO for 100 ms'), { code: 'ETIMEDOUT' });
    assert.equal(asTaskFailure(ours, 'read').message, 'read: ETIMEDOUT (no bytes from MinIO for 100 ms)');
    const answer = Object.assign(new Error('MinIO answered 503 SlowDown: Please reduce your request rate.'), { code: 'SlowDown', status: 503 });
    assert.deepEqual(asTaskFailure(answer, 'read'), {
      taskFailure: true,
      kind: 'transient',
      message: 'read: MinIO answered 503 SlowDown: Please reduce your request rate.',
      code: 'SlowDown',
    });
  });
});
