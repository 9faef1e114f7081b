// The one rule for which incomplete uploads recovery aborts (and the check
// reports as stale), by the claim on the upload's key and its age.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStaleUpload, uploadClaim, type UploadClaim } from '../../src/daemon/recovery/upload-rule';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const GRACE = 3600_000;
const begun = (msAgo: number) => new Date(NOW - msAgo);

const cases: Array<[UploadClaim, number, boolean]> = [
  ['unclaimed', GRACE - 1, false],
  ['unclaimed', GRACE, true],
  ['unclaimed', 10 * GRACE, true],
  // A store in progress keeps its upload however long its body takes.
  ['claimed', 10 * GRACE, false],
  ['claimed', 0, false],
  // A rolled-back store's upload goes at once, however young.
  ['abandoned', 0, true],
  ['abandoned', 10 * GRACE, true],
  // MinIO's clock a minute ahead of ours: the abandoned store's upload still goes.
  ['abandoned', -60_000, true],
  ['unclaimed', -60_000, false],
];

for (const [claim, ago, stale] of cases) {
  test(`an ${claim} upload begun ${ago} ms ago is ${stale ? 'stale' : 'left alone'}`, () => {
    assert.equal(isStaleUpload(begun(ago), claim, GRACE, NOW), stale);
  });
}

test('the claim comes from the pending row naming the key, else from any row naming it', () => {
  assert.equal(uploadClaim({ stale: false }, true), 'claimed');
  assert.equal(uploadClaim({ stale: true }, true), 'abandoned');
  assert.equal(uploadClaim(null, true), 'claimed', 'a committed or deleting row');
  assert.equal(uploadClaim(null, false), 'unclaimed');
});
