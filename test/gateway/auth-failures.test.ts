// Guessing tokens is slowed on both doors (STORAGED_AUTH_FAILURE_RATE per
// remote address on the gateway, STORAGED_SOCKET_AUTH_FAILURE_RATE over the
// whole socket): past the allowance of wrong tokens, the guesser's attempts
// are refused RATE_LIMITED before their token is looked at, while a caller
// with the right token from another address is served all along.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { RateLimitedError } from '../../src/protocol/errors';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { rawConnection } from '../socket/socket-harness';
import { startGateway, TOKENS } from './gateway-fixture';

/** Requests from another loopback address than 127.0.0.1 (Linux routes all of 127/8 to lo). */
function fromAddress(t: Parameters<typeof startGateway>[0], localAddress: string) {
  const agent = new Agent({ localAddress });
  t.after(() => agent.close());
  return async (url: string, token: string | null, headers: Record<string, string> = {}) => {
    const res = await request(url, {
      dispatcher: agent,
      headers: { ...headers, ...(token !== null && { authorization: `Bearer ${token}` }) },
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
}

const guess = () => randomBytes(18).toString('base64url');

test('a guesser is refused 429 past its allowance, a right token from another address is served throughout', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: '5/min,burst=5' });
  const attacker = fromAddress(t, '127.0.0.2');
  const listing = `${g.url}/users/u/photos`;

  // The guesser floods while acme, from 127.0.0.1, keeps calling.
  const flood = (async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      // A forged X-Forwarded-For changes nothing: without STORAGED_TRUSTED_PROXIES storaged counts the connection's address.
      statuses.push((await attacker(listing, guess(), { 'x-forwarded-for': `198.51.100.${i}` })).status);
    }
    return statuses;
  })();
  const served: number[] = [];
  const legit = (async () => {
    for (let i = 0; i < 20; i++) served.push((await g.json('GET', '/users/u/photos', { as: 'acme' })).status);
  })();
  const [statuses] = await Promise.all([flood, legit]);
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'the burst of wrong tokens is answered 401');
  assert.deepEqual(new Set(statuses.slice(5)), new Set([429]), 'then every attempt is 429');
  assert.deepEqual(new Set(served), new Set([200]), 'the right token from another address was served during the flood');

  // Refused before the token is looked at: a right guess is refused like a wrong one, so 429 tells nothing.
  const rightGuess = await attacker(listing, TOKENS.globex);
  assert.equal(rightGuess.status, 429);
  assert.equal(rightGuess.body.error.code, 'RATE_LIMITED');
  assert.match(rightGuess.body.error.message, /wrong token from this address \(STORAGED_AUTH_FAILURE_RATE\)/);
  const retryAfter = Number(rightGuess.headers['retry-after']);
  // 5/min: one attempt grows back within 12 s.
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 12, `Retry-After: ${rightGuess.headers['retry-after']}`);
  assert.equal(rightGuess.body.error.details.retryAfterSeconds, retryAfter);
  assert.equal(rightGuess.headers['x-content-type-options'], 'nosniff');

  // 127.0.0.1's own wrong tokens have their own allowance, and do not stop its right ones.
  assert.equal((await g.json('GET', '/users/u/photos', { as: null, headers: { authorization: `Bearer ${guess()}` } })).status, 401);
  assert.equal((await g.json('GET', '/users/u/photos', { as: 'globex' })).status, 200);
  // A request without a token guesses nothing and is not counted: /health and a bare 401 still come.
  const third = fromAddress(t, '127.0.0.3');
  for (let i = 0; i < 10; i++) assert.equal((await third(listing, null)).status, 401);
  assert.equal((await attacker(`${g.url}/health`, null)).status, 200);

  // /metrics counts the wrong tokens and the refusals; the log says it once, naming the address.
  const metrics = await (await g.call('GET', '/metrics', { as: 'admin' })).body.text();
  assert.match(metrics, /^storaged_http_auth_failures_total 6$/m);
  const refused = Number(/^storaged_http_auth_refused_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(refused >= 36, `refused ${refused}`);
  assert.match(metrics, /^storaged_http_auth_addresses 2$/m);
  const warnings = g.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('past STORAGED_AUTH_FAILURE_RATE'));
  assert.deepEqual(warnings.map((l) => l.address), ['127.0.0.2']);
  assert.ok(!JSON.stringify(g.logs).includes(TOKENS.globex), 'no token in the log');
});

test('socket hellos with wrong tokens spend one allowance for the whole socket; open connections go on', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_SOCKET_AUTH_FAILURE_RATE: '3/min,burst=3' });
  // Opened before the flood: a connection that has said hello is not touched by it.
  const acme = g.client('acme');
  await acme.getUserPhotos('u');

  const open = (clientId: string, token: string) => {
    const client = new StorageClient({ socketPath: g.socketPath, clientId, token, retry: false });
    t.after(() => client.close());
    return client;
  };
  // One guess per connection: a refused hello closes it, so each guess costs a connection.
  const raw = await rawConnection(t, g.socketPath, { hello: false });
  raw.send({ t: 'hello', version: PROTOCOL_VERSION, clientId: 'acme', token: guess() });
  const fatal = await raw.waitFor((f) => f.t === 'fatal');
  assert.equal((fatal.error as { code: string }).code, 'UNAUTHORIZED');
  await raw.closed;
  for (let i = 0; i < 2; i++) await assert.rejects(open('acme', guess()).getUserPhotos('u'), { code: 'UNAUTHORIZED' });
  // Past the allowance even the right token is refused, retryably, naming the setting and the wait.
  await assert.rejects(open('globex', TOKENS.globex).getUserPhotos('u'), (err: unknown) => {
    assert.ok(err instanceof RateLimitedError, String(err));
    assert.equal(err.retryable, true);
    assert.match(err.message, /STORAGED_SOCKET_AUTH_FAILURE_RATE/);
    assert.ok(Number(err.details?.retryAfterSeconds) >= 1);
    return true;
  });
  assert.deepEqual((await acme.getUserPhotos('u')).photos, [], 'the connection opened before the flood still works');

  const metrics = await (await g.call('GET', '/metrics', { as: 'admin' })).body.text();
  assert.match(metrics, /^storaged_socket_hello_auth_failures_total 3$/m);
  assert.match(metrics, /^storaged_socket_hellos_rate_limited_total 1$/m);
  assert.equal(g.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('past STORAGED_SOCKET_AUTH_FAILURE_RATE')).length, 1);
  assert.deepEqual(g.logs.filter((l) => l.level === 40 && l.code === 'RATE_LIMITED'), [], 'no warning per refused connection');
});
