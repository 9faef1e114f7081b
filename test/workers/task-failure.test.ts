import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromTaskFailure } from '../../src/daemon/workers/task-failure';
import { ErrorCodes, StorageError } from '../../src/protocol/errors';
import { asTaskFailure, failure } from '../../src/workers/failures';
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
    for (const [err, kind] of cases) assert.equal(asTaskFailure(err, 'try').kind, kind, String((err as Error).message));
    const already = failure('invalid', 'kept as is');
    assert.equal(asTaskFailure(already, 'try'), already);
  });
});
