import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBucket, LARGE_IMAGE_BYTES } from '../../src/daemon/validation/bucket-choice';

const MB = 1024 * 1024;

const table: Array<[string, number, string]> = [
  ['image/jpeg', 0, 'images'],
  ['image/png', 10 * MB, 'images'],
  ['image/png', 10 * MB + 1, 'images-large'],
  ['image/svg+xml', 50 * MB, 'images-large'],
  ['video/mp4', 1, 'videos'],
  ['video/webm', 500 * MB, 'videos'],
  ['application/pdf', 1, 'files'],
  ['text/plain', 20 * MB, 'files'],
];

for (const [mime, size, bucket] of table) {
  test(`${mime} of ${size} bytes goes to ${bucket}`, () => assert.equal(chooseBucket(mime, size), bucket));
}

test('the images/images-large split is at 10 MB as in the seed', () => assert.equal(LARGE_IMAGE_BYTES, 10 * MB));
