import * as assert from 'node:assert/strict';

/** Asserts the promise rejects with a storaged error of this code (and message pattern, when given). */
export async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const e = err as { code?: unknown; message?: unknown };
    assert.equal(e.code, code, `expected code ${code}, got ${String(e.code)}: ${String(e.message)}`);
    if (message) assert.match(String(e.message), message);
    return true;
  });
}
