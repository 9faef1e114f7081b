// Tokens decide who the caller is: no token or an unknown one is 401, a
// client token on the admin route 403, another tenant's photo 404. Request
// ids are echoed, and the access log has a line per request without tokens.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { eventually, startGateway, TOKENS } from './gateway-fixture';

test('missing, malformed and unknown tokens are 401 with WWW-Authenticate; a client token on /metrics is 403', { timeout: 30_000 }, async (t) => {
  // Off: this test sends 17 wrong tokens from one address, past the default allowance (auth-failures.test.ts tests that).
  const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: 'off' });
  const attempts: Array<[string, Record<string, string>]> = [
    ['none', {}],
    ['unknown', { authorization: 'Bearer not-a-known-token-at-all' }],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`acme:${TOKENS.acme}`).toString('base64')}` }],
    ['token without scheme', { authorization: TOKENS.acme }],
    ['prefix of a token', { authorization: `Bearer ${TOKENS.acme.slice(0, -1)}` }],
  ];
  for (const route of ['/ready', '/photos/00000000-0000-4000-8000-000000000000', '/metrics', '/openapi.json']) {
    for (const [what, headers] of attempts) {
      const res = await g.json('GET', route, { as: null, headers });
      assert.equal(res.status, 401, `${what} on ${route}`);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="storaged"');
    }
  }
  const upload = await g.json('POST', '/photos?filename=x.png', { as: null, body: pngBytes(1000), headers: { 'content-type': 'image/png' } });
  assert.equal(upload.status, 401);
  assert.equal((await g.daemon.catalog.countByState()).committed, 0);

  const forbidden = await g.json('GET', '/metrics', { as: 'acme' });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, 'FORBIDDEN');
  assert.equal((await g.call('GET', '/metrics', { as: 'admin' })).statusCode, 200);
});

test("another tenant's photo is 404 on every route, and its own listing is empty", { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const stored = await g.json('POST', '/photos?filename=mine.png&userId=u1', { body: pngBytes(2000), headers: { 'content-type': 'image/png' } });
  const id = stored.body.id;
  const probes: Array<[string, string, string?]> = [
    ['GET', `/photos/${id}`],
    ['GET', `/photos/${id}/url`],
    ['GET', `/photos/${id}/content`],
    ['HEAD', `/photos/${id}/content`],
    ['PUT', `/photos/${id}/metadata`, '{"metadata":{"x":"y"}}'],
    ['DELETE', `/photos/${id}`],
  ];
  for (const [method, path, body] of probes) {
    const res = await g.call(method, path, { as: 'globex', ...(body === undefined ? {} : { body }) });
    assert.equal(res.statusCode, 404, `${method} ${path}`);
    await res.body.text();
  }
  assert.equal((await g.json('POST', '/photos/search', { as: 'globex', body: '{}' })).body.total, 0);
  assert.equal((await g.json('GET', '/users/u1/photos', { as: 'globex' })).body.pagination.total, 0);
  // The JSON form's clientId cannot pick another tenant.
  const spoof = await g.json('POST', '/photos', {
    as: 'globex',
    body: JSON.stringify({ data: pngBytes(100).toString('base64'), options: { originalName: 'x.png', clientId: 'acme' } }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(spoof.status, 400);
  assert.match(spoof.body.error.message, /differs from the client id/);
  // Still there for its owner.
  assert.equal((await g.json('GET', `/photos/${id}`)).status, 200);
});

test('X-Request-Id is echoed when sane and generated otherwise; the access log has one line per request and never a token', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const echoed = await g.json('GET', '/health', { as: null, headers: { 'x-request-id': 'abc.DEF_123-x' } });
  assert.equal(echoed.headers['x-request-id'], 'abc.DEF_123-x');
  for (const bad of ['has space', 'x'.repeat(129), 'quote"d', 'new\\nline']) {
    const res = await g.json('GET', '/photos/00000000-0000-4000-8000-000000000000', { headers: { 'x-request-id': bad } });
    assert.notEqual(res.headers['x-request-id'], bad);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(res.body.error.requestId, res.headers['x-request-id'], 'the error body carries the same id');
  }
  const stored = await g.json('POST', '/photos?filename=log.png', {
    body: pngBytes(3000),
    headers: { 'content-type': 'image/png', 'x-request-id': 'store-1' },
  });
  assert.equal(stored.status, 201);
  await g.json('GET', '/ready', { headers: { authorization: `Bearer ${TOKENS.acme}x` } });

  const line = await eventually(() => g.logs.find((l) => l.msg === 'http request' && l.requestId === 'store-1'));
  assert.equal(line.method, 'POST');
  assert.equal(line.route, '/photos');
  assert.equal(line.status, 201);
  assert.equal(line.clientId, 'acme');
  // The peer; no second address without a trusted proxy (trusted-proxies.test.ts).
  assert.equal(line.remoteAddress, '127.0.0.1');
  assert.equal(line.clientAddress, undefined);
  assert.equal(typeof line.durationMs, 'number');
  assert.ok((line.bytes as number) > 0);
  const refused = await eventually(() => g.logs.find((l) => l.msg === 'http request' && l.route === '/ready' && l.status === 401));
  assert.equal(refused.clientId, undefined);
  const requests = g.logs.filter((l) => l.msg === 'http request');
  assert.equal(requests.length, 7);
  const everything = JSON.stringify(g.logs);
  for (const token of Object.values(TOKENS)) assert.ok(!everything.includes(token.slice(0, 12)), 'a token appears in the log');
});

test('with no tokens configured the daemon starts, warns, and refuses every route but /health', { timeout: 30_000 }, async (t) => {
  const d = await startTestDaemon(t, null);
  assert.ok(d.logs.some((l) => l.level === 40 && /gateway has no tokens/.test(String(l.msg))));
  const url = d.daemon.httpUrl!;
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const res = await fetch(`${url}/ready`, { headers: { authorization: 'Bearer anything-at-all-1234' } });
  assert.equal(res.status, 401);
});

test('STORAGED_GATEWAY=off leaves only /health and the local backend\'s blob URLs', { timeout: 30_000 }, async (t) => {
  const d = await startTestDaemon(t, null, { env: { STORAGED_GATEWAY: 'off', STORAGED_TOKENS: `${TOKENS.acme} acme` } });
  const url = d.daemon.httpUrl!;
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const res = await fetch(`${url}/ready`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
  assert.equal(res.status, 404);
  await res.arrayBuffer();
  const stored = await d.client('acme').storePhoto(pngBytes(1000), { originalName: 'b.png', clientId: 'acme' });
  const blob = await fetch(stored.s3_url);
  assert.equal(blob.status, 200);
  assert.equal((await blob.arrayBuffer()).byteLength, 1000);
});
