// Behind a reverse proxy every caller's TCP peer is the proxy. With
// STORAGED_TRUSTED_PROXIES listing it, the gateway takes the caller's
// address from X-Forwarded-For (walked from the right, through trusted hops
// only), so one guesser behind the proxy spends its own allowance of wrong
// tokens, not everyone's; without it, or from a peer not listed, the header
// is ignored. Here the tests are the proxy: they connect from loopback
// addresses and write X-Forwarded-For as a proxy would.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { clientAddress, compileTrustedProxies, MAX_TRUSTED_HOPS } from '../../src/daemon/gateway/trusted-proxies';
import { eventually, startGateway, TOKENS, type GatewayFixture } from './gateway-fixture';

const guess = () => randomBytes(18).toString('base64url');
const LISTING = '/users/u/photos';

/** A GET of the listing from `localAddress` (Linux routes all of 127/8 to lo), forwarded for `forwardedFor` when given. */
function proxy(t: Parameters<typeof startGateway>[0], g: GatewayFixture, localAddress = '127.0.0.1') {
  const agent = new Agent({ localAddress });
  t.after(() => agent.close());
  return async (token: string, forwardedFor?: string, requestId?: string): Promise<number> => {
    const res = await request(`${g.url}${LISTING}`, {
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token}`,
        ...(forwardedFor !== undefined && { 'x-forwarded-for': forwardedFor }),
        ...(requestId !== undefined && { 'x-request-id': requestId }),
      },
    });
    await res.body.dump();
    return res.statusCode;
  };
}

/** The access-log line of the request sent with X-Request-Id `requestId`. */
function logLine(g: GatewayFixture, requestId: string) {
  return eventually(() => g.logs.find((l) => l.msg === 'http request' && l.requestId === requestId));
}

test('through a trusted proxy, a guesser spends its own allowance: callers forwarded from other addresses get past the limiter', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: '5/min,burst=5', STORAGED_TRUSTED_PROXIES: '127.0.0.1' });
  const send = proxy(t, g);
  const flood: number[] = [];
  for (let i = 0; i < 8; i++) flood.push(await send(guess(), '203.0.113.7'));
  assert.deepEqual(flood, [401, 401, 401, 401, 401, 429, 429, 429], 'the guesser behind the proxy is limited');
  assert.equal(await send(TOKENS.acme, '203.0.113.7'), 429, 'its right token too, while its allowance is spent');

  // Before STORAGED_TRUSTED_PROXIES these were 429: every caller behind the proxy shared 127.0.0.1's allowance.
  assert.equal(await send(TOKENS.acme, '203.0.113.8'), 200, 'another caller behind the proxy is served');
  assert.equal(await send(guess(), '203.0.113.8'), 401, "another caller's wrong token is told 401, not 429");
  assert.equal(await send(guess()), 401, "the proxy's own requests (no X-Forwarded-For) have their own allowance");

  // The limiter's warning names the caller, not the proxy.
  const warnings = g.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('past STORAGED_AUTH_FAILURE_RATE'));
  assert.deepEqual(warnings.map((l) => l.address), ['203.0.113.7']);
  const metrics = await (await g.call('GET', '/metrics', { as: 'admin' })).body.text();
  assert.match(metrics, /^storaged_http_auth_addresses 3$/m);
});

test('IPv6 callers behind a trusted proxy are keyed by their /64, as direct ones are', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: '3/min,burst=3', STORAGED_TRUSTED_PROXIES: 'loopback' });
  const send = proxy(t, g);
  for (let i = 0; i < 3; i++) assert.equal(await send(guess(), `2001:db8:1:2::${i + 1}`), 401);
  assert.equal(await send(guess(), '2001:db8:1:2:ffff::9'), 429, 'another host in the same /64 shares the allowance');
  assert.equal(await send(guess(), '2001:db8:1:3::1'), 401, 'the next /64 has its own');
});

test('without STORAGED_TRUSTED_PROXIES, or from a peer not listed, a spoofed X-Forwarded-For does not escape the limit', { timeout: 60_000 }, async (t) => {
  for (const env of [{}, { STORAGED_TRUSTED_PROXIES: '127.0.0.2, 10.0.0.0/8' }] as Array<Record<string, string>>) {
    const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: '5/min,burst=5', ...env });
    const send = proxy(t, g);
    const statuses: number[] = [];
    // A fresh forged address each time: were the header believed, each would have a fresh allowance.
    for (let i = 0; i < 8; i++) statuses.push(await send(guess(), `203.0.113.${i}`, `spoof-${i}`));
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429], JSON.stringify(env));
    assert.equal(await send(TOKENS.acme, '203.0.113.200'), 429, "all share 127.0.0.1's allowance");
    const line = await logLine(g, 'spoof-0');
    assert.equal(line.remoteAddress, '127.0.0.1');
    assert.equal(line.clientAddress, undefined, 'the forged address is not logged as the caller');
    const warnings = g.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('past STORAGED_AUTH_FAILURE_RATE'));
    assert.deepEqual(warnings.map((l) => l.address), ['127.0.0.1']);
  }
});

test('a forwarded chain is walked from the right through trusted hops only: the caller cannot pick its key by prepending', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_AUTH_FAILURE_RATE: '5/min,burst=5', STORAGED_TRUSTED_PROXIES: '127.0.0.1' });
  const send = proxy(t, g);
  // The caller 203.0.113.7 writes its own X-Forwarded-For; the proxy appends the address it saw.
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push(await send(guess(), `198.51.100.${i}, 203.0.113.7`));
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429], 'keyed by 203.0.113.7 whatever it prepends');
  assert.equal(await send(TOKENS.acme, '203.0.113.7'), 429, 'the same key without the prefix');
  assert.equal(await send(TOKENS.acme, '198.51.100.0'), 200, 'the address it claimed was never charged');

  assert.equal(await send(TOKENS.acme, '198.51.100.1, 203.0.113.9', 'chain-1'), 200);
  assert.equal((await logLine(g, 'chain-1')).clientAddress, '203.0.113.9');
  // 127.0.0.5 is not in the list (only 127.0.0.1 is): it is the caller, what it forwarded is not believed.
  assert.equal(await send(TOKENS.acme, '203.0.113.10, 127.0.0.5', 'chain-2'), 200);
  assert.equal((await logLine(g, 'chain-2')).clientAddress, '127.0.0.5');
  // A hop that names nobody: the trusted proxy that reported it stands for the caller.
  assert.equal(await send(TOKENS.acme, '203.0.113.11, unknown', 'chain-3'), 200);
  const junk = await logLine(g, 'chain-3');
  assert.equal(junk.remoteAddress, '127.0.0.1');
  assert.equal(junk.clientAddress, undefined);
});

test('chains of trusted proxies are walked through, at most MAX_TRUSTED_HOPS of them', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_TRUSTED_PROXIES: 'loopback' });
  const send = proxy(t, g, '127.0.0.2');
  // CDN 127.0.0.9 → load balancer 127.0.0.8 → ingress 127.0.0.2 (the peer): all loopback, all trusted.
  assert.equal(await send(TOKENS.acme, '203.0.113.20, 127.0.0.9, 127.0.0.8', 'hops-3'), 200);
  const line = await logLine(g, 'hops-3');
  assert.equal(line.remoteAddress, '127.0.0.2');
  assert.equal(line.clientAddress, '203.0.113.20');

  // A thousand trusted hops: the walk stops after MAX_TRUSTED_HOPS (the peer is the first), and the
  // hop after them is taken as the caller, though it is loopback too and 198.51.100.1 is further left.
  const hops = [
    '198.51.100.1',
    ...Array<string>(1000).fill('127.0.0.3'),
    '127.0.0.21',
    ...Array<string>(MAX_TRUSTED_HOPS - 1).fill('127.0.0.4'),
  ];
  assert.ok(hops.join(',').length < 14_000, "within Node's 16 KiB header limit");
  assert.equal(await send(TOKENS.acme, hops.join(','), 'hops-many'), 200);
  assert.equal((await logLine(g, 'hops-many')).clientAddress, '127.0.0.21');
});

test('the request log carries the peer and, behind a trusted proxy, the caller it forwarded', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, { STORAGED_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8' });
  assert.ok(g.logs.some((l) => Array.isArray(l.trustedProxies) && /STORAGED_TRUSTED_PROXIES/.test(String(l.msg))), 'the setting is logged at start');
  const send = proxy(t, g);
  assert.equal(await send(TOKENS.acme, '203.0.113.30', 'log-forwarded'), 200);
  assert.equal(await send(TOKENS.acme, undefined, 'log-direct'), 200);
  const forwarded = await logLine(g, 'log-forwarded');
  assert.equal(forwarded.remoteAddress, '127.0.0.1');
  assert.equal(forwarded.clientAddress, '203.0.113.30');
  assert.equal(forwarded.status, 200);
  const direct = await logLine(g, 'log-direct');
  assert.equal(direct.remoteAddress, '127.0.0.1');
  assert.equal(direct.clientAddress, undefined, 'no second address when the peer is the caller');
});

test('clientAddress on odd headers: empty, blank entries, repeated lines, the hop cut-off at its edge', () => {
  const proxies = compileTrustedProxies(['loopback']);
  // clientAddress reads two fields of the request, as proxy-addr does.
  const from = (peer: string | undefined, header?: string | string[]) =>
    clientAddress({ socket: { remoteAddress: peer }, headers: header === undefined ? {} : { 'x-forwarded-for': header } } as unknown as http.IncomingMessage, proxies);
  const loopbacks = (n: number) => Array<string>(n).fill('127.0.0.4');
  const cases: Array<[string | undefined, string | string[] | undefined, string | undefined]> = [
    ['127.0.0.1', undefined, '127.0.0.1'],
    [undefined, '203.0.113.1', undefined],
    ['127.0.0.1', '', '127.0.0.1'],
    ['127.0.0.1', ' , ,203.0.113.5, ', '203.0.113.5'],
    ['127.0.0.1', ',203.0.113.5', '203.0.113.5'],
    ['::ffff:127.0.0.1', '203.0.113.6', '203.0.113.6'],
    ['::1', '2001:db8::7', '2001:db8::7'],
    ['127.0.0.1', ['203.0.113.1', '127.0.0.9'], '203.0.113.1'],
    ['203.0.113.2', '198.51.100.1', '203.0.113.2'],
    // MAX_TRUSTED_HOPS - 1 trusted hops after the peer: the next one is still reached, and is the caller.
    ['127.0.0.1', ['203.0.113.3', ...loopbacks(MAX_TRUSTED_HOPS - 1)].join(', '), '203.0.113.3'],
    ['127.0.0.1', ['203.0.113.3', ...loopbacks(MAX_TRUSTED_HOPS - 1), '127.0.0.5'].join(', '), '127.0.0.4'],
    ['127.0.0.1', ['203.0.113.3', ...loopbacks(MAX_TRUSTED_HOPS - 2)].join(', '), '203.0.113.3'],
    ['127.0.0.1', ['203.0.113.3', 'nonsense', ...loopbacks(3)].join(','), '127.0.0.4'],
  ];
  for (const [peer, header, expected] of cases) assert.equal(from(peer, header), expected, `${peer} ${JSON.stringify(header)}`);
});
