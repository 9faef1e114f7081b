import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyBudget, bodyKindOf, bodyLimitFor, largestBodyLimit, uniformBodyLimits } from '../../src/daemon/validation/body-limits';
import { expectError } from './expect-error';

const LIMITS = { image: 100, video: 1000, file: 300 };

/** Chunks of these sizes arriving, each checked as it comes; `taken` hears of each one let through. */
function arrive(budget: BodyBudget, sizes: number[], taken: (size: number) => void = () => undefined): void {
  let size = 0;
  for (const chunk of sizes) {
    size += chunk;
    budget.checkArriving(size);
    taken(size);
  }
}

test('the kind follows the buckets: image/*, video/*, anything else', () => {
  assert.equal(bodyKindOf('image/heic'), 'image');
  assert.equal(bodyKindOf('video/webm'), 'video');
  assert.equal(bodyKindOf('application/pdf'), 'file');
});

test("a type's limit, and the largest when no type is known", () => {
  assert.equal(bodyLimitFor(LIMITS, 'image/png'), 100);
  assert.equal(bodyLimitFor(LIMITS, 'video/mp4'), 1000);
  assert.equal(bodyLimitFor(LIMITS, 'application/pdf'), 300);
  assert.equal(bodyLimitFor(LIMITS, undefined), 1000);
  assert.equal(largestBodyLimit({ image: 7, video: 3, file: 5 }), 7);
  assert.deepEqual(uniformBodyLimits(42), { image: 42, video: 42, file: 42 });
});

test('a declared type fixes the limit up front', () => {
  const budget = new BodyBudget(LIMITS, 'image/png');
  assert.equal(budget.limit, 100);
  budget.check(100);
  expectError(() => budget.check(101), 'TOO_LARGE', 'body of 101 bytes exceeds the limit of 100 bytes for images (image/png)');
  assert.doesNotThrow(() => arrive(budget, [60, 40]));
  assert.throws(() => arrive(budget, [60, 41]), /body exceeds the limit of 100 bytes for images \(image\/png\)/);
});

test('with no declared type the largest limit holds until the bytes are known, then theirs', () => {
  const budget = new BodyBudget(LIMITS, undefined);
  assert.equal(budget.limit, 1000);
  let seen = 0;
  assert.throws(
    () =>
      arrive(budget, [50, 50, 50, 50], (size) => {
        seen = size;
        // The head arrived: the bytes are an image.
        if (seen === 50) budget.narrowTo('image/jpeg', undefined);
      }),
    (err: Error & { code?: string; details?: { limit?: number } }) => {
      assert.equal(err.code, 'TOO_LARGE');
      assert.equal(err.details?.limit, 100);
      return true;
    },
  );
  assert.equal(seen, 100, 'refused at the first chunk past the image limit, not at the largest');
});

test("narrowing refuses a declared size over the sniffed type's limit before the rest arrives", () => {
  const budget = new BodyBudget(LIMITS, undefined);
  budget.check(900);
  expectError(() => budget.narrowTo('image/gif', 900), 'TOO_LARGE', 'body of 900 bytes exceeds the limit of 100 bytes for images (image/gif)');
  const video = new BodyBudget(LIMITS, undefined);
  video.narrowTo('video/mp4', 900);
  assert.equal(video.limit, 1000);
});
