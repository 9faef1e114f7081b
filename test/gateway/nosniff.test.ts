// Every answer of the HTTP door carries X-Content-Type-Options: nosniff, not
// only a photo's bytes: an error body may echo a caller's text (a path, a
// field name), and a browser sniffing it as HTML would run what was echoed.

import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { startGateway } from './gateway-fixture';

/** Sends `raw` on a new connection and returns what the server answered before it closed. */
function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    // The server ends its side after its answer; waiting for 'close' would wait out its linger.
    socket.once('end', () => {
      socket.destroy();
      resolve(answer);
    });
    socket.once('close', () => resolve(answer));
    socket.once('error', reject);
  });
}

test('every gateway answer, errors included, says nosniff', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_GATEWAY_RATE: '2/min,burst=2' });
  const answers: Array<[string, Awaited<ReturnType<typeof g.json>>]> = [
    ['health', await g.json('GET', '/health', { as: null })],
    ['listing', await g.json('GET', '/users/u/photos', { as: 'globex' })],
    ['no token', await g.json('GET', '/users/u/photos', { as: null })],
    ['unknown route', await g.json('GET', '/no/such/route', { as: 'admin' })],
    ['wrong method', await g.json('DELETE', '/health', { as: null })],
    ['URL too long', await g.json('GET', `/photos/${'x'.repeat(9000)}`, { as: null })],
    ['not found', await g.json('GET', '/photos/00000000-0000-4000-8000-000000000000', { as: 'globex' })],
    ['forbidden', await g.json('GET', '/metrics', { as: 'acme' })],
    ['rate limited', await g.json('GET', '/users/u/photos', { as: 'acme' })],
  ];
  const metrics = await g.call('GET', '/metrics', { as: 'admin' });
  const ready = await g.call('GET', '/ready', { as: 'admin' });
  const openapi = await g.call('GET', '/openapi.json', { as: 'admin' });
  for (const [what, res] of [['metrics', metrics], ['ready', ready], ['openapi', openapi]] as const) {
    await res.body.text();
    answers.push([what, { status: res.statusCode, headers: res.headers, body: undefined }]);
  }
  const statuses = new Set(answers.map(([, res]) => res.status));
  for (const status of [200, 401, 403, 404, 405, 414, 429]) assert.ok(statuses.has(status), `a ${status} is among the answers checked`);
  for (const [what, res] of answers) assert.equal(res.headers['x-content-type-options'], 'nosniff', `${what} (${res.status})`);

  // Answers written before node:http has a request: a request it cannot parse.
  const bad = await rawExchange(g.url, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 /);
  assert.match(bad, /\r\nx-content-type-options: nosniff\r\n/i);
});

test('the refusal of a connection past STORAGED_GATEWAY_MAX_CONNECTIONS says nosniff', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_GATEWAY_MAX_CONNECTIONS: '1' });
  const { hostname, port } = new URL(g.url);
  const holder = net.connect(Number(port), hostname);
  await new Promise((resolve) => holder.once('connect', resolve));
  // The holder is counted once the server accepted it; until then a second connection may be the one served.
  let refused = '';
  for (let i = 0; i < 50 && !refused.startsWith('HTTP/1.1 503'); i++) {
    refused = await rawExchange(g.url, 'GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  }
  // Gone before the daemon closes, which would otherwise wait for it.
  holder.destroy();
  assert.match(refused, /^HTTP\/1\.1 503 /);
  assert.match(refused, /\r\nx-content-type-options: nosniff\r\n/i);
});
