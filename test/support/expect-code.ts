import * as assert from 'node:assert/strict';
import { StorageError } from '../../src/protocol/errors';

/** Asserts the promise rejects with a storaged error of this code (and message pattern, when given). */
export async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const e = err as { code?: unknown; message?: unknown };
    assert.equal(e.code, code, `expected code ${code}, got ${String(e.code)}: ${String(e.message)}`);
    if (message) assert.match(String(e.message), message);
    return true;
  });
}

/** The storaged error the promise rejects with, for tests that look at more than its code; fails if it resolves. */
export async function storageErrorOf(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StorageError, `a storaged error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}
