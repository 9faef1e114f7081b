// Socket callers prove who they are: with tokens configured, the client id is
// the token's, never what the hello claims. Any process that could open the
// socket used to be able to say it was `alice` and read alice's photos.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

const aliceToken = randomBytes(24).toString('base64url');
const bobToken = randomBytes(24).toString('base64url');
const TOKENS = `${aliceToken} alice; ${bobToken} bob`;

async function withAlicePhoto(t: Parameters<typeof startTestDaemon>[0], env: Record<string, string> = {}) {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: TOKENS, ...env } });
  const alice = daemon.client('alice');
  const photo = await alice.storePhoto(pngBytes(2000), { originalName: 'private.png', clientId: 'alice', userId: 'a' });
  const open = (opts: { clientId: string; token?: string }) => {
    const client = new StorageClient({ socketPath: daemon.socketPath, ...opts });
    t.after(() => client.close());
    return client;
  };
  return { daemon, photo, open };
}

test('a hello that claims a client id without a token is refused before any call', async (t) => {
  const { photo, open } = await withAlicePhoto(t);
  const saved = process.env.STORAGED_TOKEN;
  delete process.env.STORAGED_TOKEN;
  t.after(() => (saved === undefined ? undefined : (process.env.STORAGED_TOKEN = saved)));
  const spoof = open({ clientId: 'alice' });
  await assert.rejects(spoof.getPhoto(photo.id), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.match(err.message, /needs a token/);
    return true;
  });
});

test('a wrong token, or a token of another client, is refused', async (t) => {
  const { photo, open } = await withAlicePhoto(t);
  await assert.rejects(open({ clientId: 'alice', token: randomBytes(24).toString('base64url') }).getPhoto(photo.id), {
    code: 'UNAUTHORIZED',
    message: 'the token is not valid',
  });
  await assert.rejects(open({ clientId: 'alice', token: bobToken }).getPhoto(photo.id), { code: 'UNAUTHORIZED' });
});

test("bob's token sees only bob's photos", async (t) => {
  const { photo, open } = await withAlicePhoto(t);
  const bob = open({ clientId: 'bob', token: bobToken });
  const mine = await bob.storePhoto(pngBytes(1500), { originalName: 'private-bob.png', clientId: 'bob', userId: 'a' });
  await assert.rejects(bob.getPhoto(photo.id), { code: 'NOT_FOUND' });
  await assert.rejects(bob.deletePhoto(photo.id), { code: 'NOT_FOUND' });
  const found = await bob.searchPhotos({ query: 'private' });
  assert.deepEqual(found.photos.map((p) => p.id), [mine.id]);
  assert.equal((await open({ clientId: 'alice', token: aliceToken }).getPhoto(photo.id)).id, photo.id, 'alice still has hers');
});

test('the client takes its token from STORAGED_TOKEN when not given one', async (t) => {
  const { photo, open } = await withAlicePhoto(t);
  const saved = process.env.STORAGED_TOKEN;
  process.env.STORAGED_TOKEN = aliceToken;
  t.after(() => (saved === undefined ? delete process.env.STORAGED_TOKEN : (process.env.STORAGED_TOKEN = saved)));
  assert.equal((await open({ clientId: 'alice' }).getPhoto(photo.id)).id, photo.id);
});

test('trusted mode takes the client id as sent, and the daemon says so at start', async (t) => {
  const { daemon, photo, open } = await withAlicePhoto(t, { STORAGED_SOCKET_AUTH: 'trusted' });
  assert.equal((await open({ clientId: 'alice' }).getPhoto(photo.id)).id, photo.id);
  assert.ok(daemon.logs.some((l) => l.level === 40 && /any process that may open the socket can act as any client/.test(String(l.msg))));

  const tokened = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: TOKENS } });
  assert.ok(!tokened.logs.some((l) => /socket callers are trusted/.test(String(l.msg))), 'no warning when tokens decide');
});

test('the socket auth setting is checked at start', () => {
  const base = { STORAGED_DATA_DIR: '/tmp/x' };
  assert.equal(loadConfig(base).socketAuth, 'trusted', 'no tokens: nothing to check against');
  assert.equal(loadConfig({ ...base, STORAGED_TOKENS: TOKENS }).socketAuth, 'token', 'tokens: token by default');
  assert.throws(() => loadConfig({ ...base, STORAGED_SOCKET_AUTH: 'token' }), /STORAGED_SOCKET_AUTH.*no tokens are configured/);
  assert.throws(() => loadConfig({ ...base, STORAGED_TOKENS: TOKENS, STORAGED_SOCKET_AUTH: 'peercred' }), /STORAGED_SOCKET_USERS is not set/);
  assert.throws(() => loadConfig({ ...base, STORAGED_SOCKET_AUTH: 'open' }), /STORAGED_SOCKET_AUTH.*expected one of/);
});

test('a token argument that cannot be one is refused by the client', () => {
  assert.throws(() => new StorageClient({ socketPath: '/tmp/x.sock', clientId: 'a', token: '' }), TypeError);
  assert.throws(() => new StorageClient({ socketPath: '/tmp/x.sock', clientId: 'a', token: 'x'.repeat(513) }), TypeError);
});

// The gateway keeps these figures (every client's photo and byte counts per
// bucket) behind an admin token on /metrics; the socket handed them to any
// tenant's token, so bob could count alice's stores and their sizes by polling.
test("daemonStats spans every client, so it needs an admin token on the socket as /metrics does on the gateway", async (t) => {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_TOKENS: `${aliceToken} alice admin; ${bobToken} bob` } });
  const open = (clientId: string, token: string) => {
    const client = new StorageClient({ socketPath: daemon.socketPath, clientId, token });
    t.after(() => client.close());
    return client;
  };
  const alice = open('alice', aliceToken);
  await alice.storePhoto(pngBytes(2000), { originalName: 'private.png', clientId: 'alice', userId: 'a' });
  const bob = open('bob', bobToken);
  await assert.rejects(bob.daemonStats(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'FORBIDDEN');
    assert.match(err.message, /admin token/);
    return true;
  });
  assert.equal((await bob.searchPhotos({})).total, 0, 'the refusal leaves the connection usable');
  const stats = await alice.daemonStats();
  assert.deepEqual(stats.buckets.map((b) => [b.bucket, b.photos]), [['images', 1]]);
});
