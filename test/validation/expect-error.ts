import * as assert from 'node:assert/strict';
import { StorageError } from '../../src/protocol/errors';

/** Runs fn and checks it throws a StorageError with this code and a message matching `message`. */
export function expectError(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}
