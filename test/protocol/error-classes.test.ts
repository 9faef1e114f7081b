// Every error class: its name, code and retryability, and that it survives a
// trip over the wire as the same class.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '../../src/protocol/errors';

const table: Array<[new (m: string) => errors.StorageError, string, string, boolean]> = [
  [errors.ValidationError, 'ValidationError', 'VALIDATION', false],
  [errors.NotFoundError, 'NotFoundError', 'NOT_FOUND', false],
  [errors.ConflictError, 'ConflictError', 'CONFLICT', false],
  [errors.TooLargeError, 'TooLargeError', 'TOO_LARGE', false],
  [errors.UnsupportedTypeError, 'UnsupportedTypeError', 'UNSUPPORTED_TYPE', false],
  [errors.ChecksumMismatchError, 'ChecksumMismatchError', 'CHECKSUM_MISMATCH', false],
  [errors.RangeNotSatisfiableError, 'RangeNotSatisfiableError', 'RANGE_NOT_SATISFIABLE', false],
  [errors.UnauthorizedError, 'UnauthorizedError', 'UNAUTHORIZED', false],
  [errors.ForbiddenError, 'ForbiddenError', 'FORBIDDEN', false],
  [errors.UnavailableError, 'UnavailableError', 'UNAVAILABLE', true],
  [errors.TimeoutError, 'TimeoutError', 'TIMEOUT', true],
  [errors.TooManyInFlightError, 'TooManyInFlightError', 'TOO_MANY_IN_FLIGHT', true],
  [errors.RateLimitedError, 'RateLimitedError', 'RATE_LIMITED', true],
  [errors.ProtocolError, 'ProtocolError', 'PROTOCOL', false],
  [errors.ClosedError, 'ClosedError', 'CLOSED', true],
  [errors.InternalError, 'InternalError', 'INTERNAL', false],
];

test('every code in ErrorCodes has exactly one class', () => {
  assert.deepEqual(table.map((r) => r[2]).sort(), Object.values(errors.ErrorCodes).sort());
});

for (const [Ctor, name, code, retryable] of table) {
  test(`${name} carries code ${code} and crosses the wire as itself`, () => {
    const err = new Ctor('something specific');
    assert.ok(err instanceof errors.StorageError);
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.equal(err.message, 'something specific');
    assert.equal(err.retryable, retryable);
    const back = errors.errorFromWire(err.toWire());
    assert.ok(back instanceof Ctor);
    assert.equal(back.message, 'something specific');
  });
}

test('details travel with the error', () => {
  const err = new errors.TooLargeError('too big', { details: { limit: 10 } });
  assert.deepEqual(errors.errorFromWire(err.toWire()).details, { limit: 10 });
});

test('a malformed or unknown wire error becomes INTERNAL', () => {
  assert.equal(errors.errorFromWire(null).code, 'INTERNAL');
  assert.equal(errors.errorFromWire({ code: 'NOPE', message: 'x' }).code, 'INTERNAL');
});

test('toStorageError hides what it does not know', () => {
  const wrapped = errors.toStorageError(new Error('SQLITE_CORRUPT at /secret/path'));
  assert.equal(wrapped.code, 'INTERNAL');
  assert.equal(wrapped.message, 'internal error');
  const same = new errors.NotFoundError('x');
  assert.equal(errors.toStorageError(same), same);
});
