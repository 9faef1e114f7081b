// The Idempotency-Key header on each of the gateway's three upload forms: a
// repeat answers the first store's 201 with the same id; another body under
// the key is 409; a key given twice, or differently in the JSON options, or
// malformed, is 400. Local backend: the rule is the coordinator's, whatever
// holds the bytes.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormData } from 'undici';
import { pngBytes } from '../support/image-bytes';
import { startGateway } from './gateway-fixture';

test('Idempotency-Key on raw, JSON and multipart uploads: a repeat is the first 201, another body 409', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null);
  const body = pngBytes(5000);
  const raw = (key: string, bytes = body) =>
    g.json('POST', '/photos', { body: bytes, headers: { 'content-type': 'image/png', 'x-filename': 'r.png', 'idempotency-key': key } });
  const json = (key: string, options: Record<string, unknown> = {}) =>
    g.json('POST', '/photos', {
      body: JSON.stringify({ data: body.toString('base64'), options: { originalName: 'r.png', contentType: 'image/png', ...options } }),
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
    });
  const form = (key: string) => {
    const data = new FormData();
    data.append('file', new Blob([body], { type: 'image/png' }), 'r.png');
    return g.json('POST', '/photos', { body: data, headers: { 'idempotency-key': key } });
  };

  const first = await raw('k-1');
  assert.equal(first.status, 201, JSON.stringify(first.body));
  for (const again of [await raw('k-1'), await json('k-1'), await form('k-1')]) {
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.id, first.body.id, 'the same body and options under one key, by any form: the first photo');
  }
  const conflict = await raw('k-1', pngBytes(5000));
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'CONFLICT');
  assert.match(conflict.body.error.message, /different store/);

  assert.equal((await json('k-2', { idempotencyKey: 'other' })).status, 400, 'the header and the options disagree');
  assert.equal((await json('k-3', { idempotencyKey: 'k-3' })).status, 201, 'the same key in both places is one key');
  const bad = await raw('é');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /idempotencyKey must be 1 to 255 visible ASCII characters/);
  assert.equal((await g.daemon.catalog.countByState()).committed, 2);
});
