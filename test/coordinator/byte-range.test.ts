import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveRange } from '../../src/daemon/coordinator/byte-range';
import { rejectsWithCode } from '../support/expect-code';

const throwsCode = (fn: () => unknown, code: string) => rejectsWithCode(Promise.resolve().then(fn), code);

test('no range means the whole photo', () => {
  assert.deepEqual(resolveRange(undefined, 10), { start: 0, end: 9 });
  assert.deepEqual(resolveRange({}, 10), { start: 0, end: 9 });
});

test('a range keeps both ends inclusive, and the last byte alone is one byte', () => {
  assert.deepEqual(resolveRange({ start: 2, end: 4 }, 10), { start: 2, end: 4 });
  assert.deepEqual(resolveRange({ start: 9 }, 10), { start: 9, end: 9 });
  assert.deepEqual(resolveRange({ start: 9, end: 9 }, 10), { start: 9, end: 9 });
});

test('an end past the last byte is clamped to it, as HTTP does', () => {
  assert.deepEqual(resolveRange({ start: 5, end: 1000 }, 10), { start: 5, end: 9 });
});

test('a start at or past the end is RANGE_NOT_SATISFIABLE and says the size', async () => {
  await throwsCode(() => resolveRange({ start: 10 }, 10), 'RANGE_NOT_SATISFIABLE');
  await throwsCode(() => resolveRange({ start: 11, end: 20 }, 10), 'RANGE_NOT_SATISFIABLE');
});

test('malformed ranges are VALIDATION errors', async () => {
  for (const bad of [{ start: -1 }, { start: 1.5 }, { end: '3' }, { start: 5, end: 4 }, { from: 1 }, [1, 2], 'bytes=0-1']) {
    await throwsCode(() => resolveRange(bad, 10), 'VALIDATION');
  }
});
