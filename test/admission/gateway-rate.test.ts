// STORAGED_GATEWAY_RATE end to end: a token past its allowance gets 429 with
// Retry-After and the gateway's typed error body, while another token is
// still served; the HTTP client surfaces it as RATE_LIMITED, retryable.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitedError } from '../../src/protocol/errors';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { startGateway, TOKENS } from '../gateway/gateway-fixture';

// Three requests a minute: the fourth within the same minute is refused however slow this machine is.
const RATE = '3/min,burst=3';

test('a token past its rate gets 429 with Retry-After while another token is still served', async (t) => {
  const gw = await startGateway(t, null, { STORAGED_GATEWAY_RATE: RATE });
  for (let i = 0; i < 3; i++) assert.equal((await gw.json('GET', '/users/u/photos', { as: 'acme' })).status, 200);
  const refused = await gw.json('GET', '/users/u/photos', { as: 'acme' });
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 20, `Retry-After: ${refused.headers['retry-after']}`);
  assert.equal(refused.body.error.code, 'RATE_LIMITED');
  assert.match(refused.body.error.message, /STORAGED_GATEWAY_RATE/);
  assert.equal(refused.body.error.details.retryAfterSeconds, retryAfter);
  assert.equal(typeof refused.body.error.requestId, 'string');

  // globex has its own allowance, untouched by acme's.
  for (let i = 0; i < 3; i++) assert.equal((await gw.json('GET', '/users/u/photos', { as: 'globex' })).status, 200);
  assert.equal((await gw.json('GET', '/users/u/photos', { as: 'globex' })).status, 429);

  // /health takes no token and so no allowance.
  assert.equal((await gw.json('GET', '/health', { as: null })).status, 200);

  // The admin token's allowance is its own too; /metrics shows the admission figures.
  const metrics = await gw.call('GET', '/metrics', { as: 'admin' });
  assert.equal(metrics.statusCode, 200);
  const text = await metrics.body.text();
  for (const name of ['storaged_calls_running', 'storaged_calls_waiting', 'storaged_calls_refused_total', 'storaged_http_connections', 'storaged_socket_connections_refused_total']) {
    assert.match(text, new RegExp(`^${name} \\d+$`, 'm'), name);
  }

  const remote = new StorageClient({ url: gw.url, token: TOKENS.acme, retry: false, cacheConfig: { enabled: false } });
  t.after(() => remote.close());
  await assert.rejects(remote.getUserPhotos('u'), (err: unknown) => {
    assert.ok(err instanceof RateLimitedError, String(err));
    assert.equal(err.retryable, true);
    assert.equal(typeof err.details?.retryAfterSeconds, 'number');
    return true;
  });
});

test('without STORAGED_GATEWAY_RATE no token is limited', async (t) => {
  const gw = await startGateway(t, null);
  const statuses = await Promise.all(Array.from({ length: 50 }, () => gw.json('GET', '/users/u/photos', { as: 'acme' }).then((r) => r.status)));
  assert.deepEqual(new Set(statuses), new Set([200]));
});

test('a remote client that retries comes back after Retry-After and is served, where quick retries would all be refused', async (t) => {
  // One request at once, then one a second: a retry within the second is refused again.
  const gw = await startGateway(t, null, { STORAGED_GATEWAY_RATE: '1/s,burst=1' });
  const remote = new StorageClient({
    url: gw.url,
    token: TOKENS.acme,
    retry: { retries: 3, minDelayMs: 1, maxDelayMs: 1, deadlineMs: 30_000 },
    cacheConfig: { enabled: false },
  });
  t.after(() => remote.close());
  await remote.getUserPhotos('u');
  const started = performance.now();
  // Refused at first (429, Retry-After: 1); three retries 1 ms apart would be refused too.
  assert.deepEqual((await remote.getUserPhotos('u')).photos, []);
  t.diagnostic(`served after ${(performance.now() - started).toFixed(0)} ms`);
});
