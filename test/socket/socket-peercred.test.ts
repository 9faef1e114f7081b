// STORAGED_SOCKET_AUTH=peercred: the kernel says which Unix user connected
// (SO_PEERCRED) and STORAGED_SOCKET_USERS says which client that user is. The
// hello's client id is only checked against it, never believed.

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { GatewayTokens, parseTokenList } from '../../src/daemon/config/gateway-tokens';
import { parseSocketUsers } from '../../src/daemon/config/socket-users';
import { acceptHello, type HelloSettings, type SocketAuth } from '../../src/daemon/socket/hello-check';
import { createLogger } from '../../src/daemon/logger';
import { AuthFailures } from '../../src/daemon/admission/auth-failures';
import { parseRequestRate } from '../../src/daemon/admission/request-rate';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { tempDir } from '../support/temp-dir';

const me = process.getuid!();
/** A uid that is not this process's: the test maps it to make this process an unlisted user. */
const other = me === 65534 ? 65533 : 65534;
const bobToken = randomBytes(24).toString('base64url');

function open(t: Parameters<typeof startTestDaemon>[0], socketPath: string, opts: { clientId: string; token?: string }): StorageClient {
  const client = new StorageClient({ socketPath, retry: false, ...opts });
  t.after(() => client.close());
  return client;
}

test("the connecting process's Unix user is its client", async (t) => {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${me} alice; ${other} bob` } });
  const alice = open(t, daemon.socketPath, { clientId: 'alice' });
  const photo = await alice.storePhoto(pngBytes(2000), { originalName: 'mine.png', clientId: 'alice', userId: 'a' });
  assert.equal((await alice.getPhoto(photo.id)).id, photo.id);
  assert.ok(!daemon.logs.some((l) => /socket callers are trusted/.test(String(l.msg))), 'no trusted-mode warning');
});

test("a hello claiming another client than the user's is refused, token or not", async (t) => {
  const daemon = await startTestDaemon(t, null, {
    env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${me} alice; ${other} bob`, STORAGED_TOKENS: `${bobToken} bob` },
  });
  const alice = open(t, daemon.socketPath, { clientId: 'alice' });
  const photo = await alice.storePhoto(pngBytes(2000), { originalName: 'mine.png', clientId: 'alice', userId: 'a' });
  await assert.rejects(open(t, daemon.socketPath, { clientId: 'bob' }).searchPhotos({}), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.equal(err.message, `this connection's Unix user (uid ${me}) is client "alice" in STORAGED_SOCKET_USERS, not "bob"`);
    return true;
  });
  // A listed user is its client: even bob's valid token does not make it bob.
  await assert.rejects(open(t, daemon.socketPath, { clientId: 'bob', token: bobToken }).getPhoto(photo.id), { code: 'UNAUTHORIZED' });
  // And the token does not stop it being alice.
  assert.equal((await open(t, daemon.socketPath, { clientId: 'alice', token: bobToken }).getPhoto(photo.id)).id, photo.id);
});

test('an unlisted Unix user is refused with its uid and the setting named', async (t) => {
  const daemon = await startTestDaemon(t, null, { env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${other} bob` } });
  for (const clientId of ['bob', 'alice']) {
    await assert.rejects(open(t, daemon.socketPath, { clientId }).searchPhotos({}), {
      code: 'UNAUTHORIZED',
      message: `uid ${me} is not listed in STORAGED_SOCKET_USERS; add it there (the daemon's setting)`,
    });
  }
});

test('with tokens configured, an unlisted user may still prove itself with a token', async (t) => {
  const daemon = await startTestDaemon(t, null, {
    env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${other} alice`, STORAGED_TOKENS: `${bobToken} bob` },
  });
  const saved = process.env.STORAGED_TOKEN;
  delete process.env.STORAGED_TOKEN;
  t.after(() => (saved === undefined ? undefined : (process.env.STORAGED_TOKEN = saved)));
  await assert.rejects(open(t, daemon.socketPath, { clientId: 'bob' }).searchPhotos({}), {
    code: 'UNAUTHORIZED',
    message: `uid ${me} is not listed in STORAGED_SOCKET_USERS; add it there or send a token in the hello`,
  });
  await assert.rejects(open(t, daemon.socketPath, { clientId: 'alice', token: bobToken }).searchPhotos({}), {
    code: 'UNAUTHORIZED',
    message: 'the token is not one of client "alice"',
  });
  const bob = open(t, daemon.socketPath, { clientId: 'bob', token: bobToken });
  assert.equal((await bob.searchPhotos({})).total, 0);
});

test('a user listed as admin may read daemonStats; one listed without it may not', async (t) => {
  const plain = await startTestDaemon(t, null, { env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${me} alice` } });
  await assert.rejects(open(t, plain.socketPath, { clientId: 'alice' }).daemonStats(), { code: 'FORBIDDEN' });
  const admin = await startTestDaemon(t, null, { env: { STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${me} alice admin` } });
  assert.ok(Array.isArray((await open(t, admin.socketPath, { clientId: 'alice' }).daemonStats()).buckets));
});

// Two real Unix users on one socket: root (this process) and nobody (a child).
// Needs root to start a process as another user, so it runs only as root; the
// skip is reported as a skip.
test('a second Unix user gets its own client and cannot act as the first', { skip: me !== 0 && 'needs root to run a process as another user' }, async (t) => {
  // Clients reach the socket through the daemon's group (mode 0660): the child runs as nobody in group root.
  const shared = tempDir(t);
  fs.chmodSync(shared, 0o755);
  const socketPath = path.join(shared, 'd.sock');
  const daemon = await startTestDaemon(t, null, {
    // `nobody` by name: resolved at start with id -u.
    env: { STORAGED_SOCKET: socketPath, STORAGED_SOCKET_AUTH: 'peercred', STORAGED_SOCKET_USERS: `${me} alice; nobody bob` },
  });
  const alice = open(t, daemon.socketPath, { clientId: 'alice' });
  const secret = await alice.storePhoto(pngBytes(2000), { originalName: 'alice-private.png', clientId: 'alice', userId: 'a' });
  const image = path.join(shared, 'bob.png');
  fs.writeFileSync(image, pngBytes(1500), { mode: 0o644 });
  const script = path.join(shared, 'as-bob.js');
  fs.writeFileSync(
    script,
    `'use strict';
const fs = require('node:fs');
const { StorageClient } = require(${JSON.stringify(require.resolve('../../src/sidecar-client/storage-client'))});
const [socketPath, alicePhoto, image] = process.argv.slice(2);
const codeOf = (p) => p.then(() => 'ok', (err) => err.code + ': ' + err.message);
(async () => {
  const bob = new StorageClient({ socketPath, clientId: 'bob', retry: false });
  const mine = await bob.storePhoto(fs.readFileSync(image), { originalName: 'bob-own.png', clientId: 'bob', userId: 'b' });
  const out = {
    uid: process.getuid(),
    mine: mine.id,
    readAlice: await codeOf(bob.getPhoto(alicePhoto)),
    deleteAlice: await codeOf(bob.deletePhoto(alicePhoto)),
    search: (await bob.searchPhotos({})).photos.map((p) => p.id),
  };
  await bob.close();
  const asAlice = new StorageClient({ socketPath, clientId: 'alice', retry: false });
  out.asAlice = await codeOf(asAlice.getPhoto(alicePhoto));
  await asAlice.close();
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { process.stderr.write(String(err && err.stack)); process.exit(1); });
`,
    { mode: 0o644 },
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [script, socketPath, secret.id, image], { uid: 65534, gid: 0, timeout: 30_000 }, (err, out, errOut) =>
      err ? reject(new Error(`the child as nobody failed: ${err.message}\n${errOut}`)) : resolve(out),
    );
  });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(out.uid, 65534);
  assert.match(String(out.readAlice), /^NOT_FOUND/);
  assert.match(String(out.deleteAlice), /^NOT_FOUND/);
  assert.deepEqual(out.search, [out.mine], 'bob sees only his own photo');
  assert.equal(out.asAlice, `UNAUTHORIZED: this connection's Unix user (uid 65534) is client "bob" in STORAGED_SOCKET_USERS, not "alice"`);
  // What bob stored is bob's, and alice's photo is untouched.
  assert.equal((await alice.getPhoto(secret.id)).id, secret.id);
  await assert.rejects(alice.getPhoto(String(out.mine)), { code: 'NOT_FOUND' });
});

test('peercred settings are checked at start', () => {
  const base = { STORAGED_DATA_DIR: '/tmp/x', STORAGED_SOCKET_AUTH: 'peercred' };
  const config = loadConfig({ ...base, STORAGED_SOCKET_USERS: `${me} alice admin; 1001 bob` });
  assert.equal(config.socketAuth, 'peercred');
  assert.deepEqual(config.socketUsers?.identify(me), { clientId: 'alice', admin: true });
  assert.deepEqual(config.socketUsers?.identify(1001), { clientId: 'bob', admin: false });
  assert.equal(config.socketUsers?.identify(1002), null);
  assert.equal(loadConfig({ STORAGED_DATA_DIR: '/tmp/x' }).socketUsers, null, 'no users outside peercred');

  assert.throws(() => loadConfig(base), /^ConfigError: STORAGED_SOCKET_AUTH: is peercred but STORAGED_SOCKET_USERS is not set/);
  assert.throws(
    () => loadConfig({ STORAGED_DATA_DIR: '/tmp/x', STORAGED_SOCKET_USERS: '1001 bob' }),
    /STORAGED_SOCKET_USERS: is set but STORAGED_SOCKET_AUTH is trusted/,
  );
  const bad: Array<[string, RegExp]> = [
    ['1001', /entry 1: expected 'user clientId' or 'user clientId admin'/],
    ['1001 bob; 1002 carol root', /entry 2: expected 'user clientId'/],
    ['1001 bob extra words', /entry 1: expected/],
    ['1001 b/ob', /entry 1: clientId may contain only/],
    ['4294967295 bob', /entry 1: uid 4294967295 is out of range/],
    ['-1 bob', /entry 1: '-1' is neither a uid nor a user name/],
    ['1001 bob; 1001 carol', /entry 2: uid 1001 is already given in entry 1/],
    [' ; ', /holds no users/],
    ['storaged-no-such-user bob', /entry 1: no Unix user is named 'storaged-no-such-user' on this host/],
  ];
  for (const [value, expected] of bad) {
    assert.throws(() => loadConfig({ ...base, STORAGED_SOCKET_USERS: value }), (err: Error) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, /^STORAGED_SOCKET_USERS: /);
      assert.match(err.message, expected);
      return true;
    }, value);
  }
});

test('user names resolve through the system, a uid is taken as given', () => {
  // `root` is uid 0 on every system; the resolver is the real `id -u`.
  assert.deepEqual(parseSocketUsers('root admin-app admin').identify(0), { clientId: 'admin-app', admin: true });
  const asked: string[] = [];
  const users = parseSocketUsers('app reports, 42 other', (name) => (asked.push(name), 5000));
  assert.deepEqual(asked, ['app'], 'a uid is never looked up');
  assert.equal(users.identify(5000)?.clientId, 'reports');
  assert.equal(users.identify(42)?.clientId, 'other');
});

/** acceptHello's settings for the unit tests below: `auth`, and the wrong tokens counted (or not). */
function helloSettings(auth: SocketAuth, authFailures: AuthFailures | null = null): HelloSettings {
  return { serverVersion: 'test', maxBodyBytes: 1024, authFailures, logger: createLogger('silent'), auth };
}

test("a connection whose Unix user could not be read is nobody's, and is refused", () => {
  const settings = helloSettings({ mode: 'peercred', users: parseSocketUsers(`${me} alice`), tokens: new GatewayTokens([]), read: () => assert.fail('not read here') });
  const hello = { t: 'hello' as const, version: PROTOCOL_VERSION, clientId: 'alice' };
  assert.throws(() => acceptHello(hello, settings, null), {
    code: 'UNAUTHORIZED',
    message: "the daemon could not read this connection's Unix user (its log says why)",
  });
  assert.equal(acceptHello(hello, settings, { pid: 1, uid: me, gid: 0 }).clientId, 'alice');
});

test('wrong tokens from unlisted users spend their allowance; a listed user is let in regardless', () => {
  const authFailures = new AuthFailures(parseRequestRate('1/min,burst=1')!);
  const settings = helloSettings({ mode: 'peercred', users: parseSocketUsers(`${me} alice`), tokens: parseTokenList(`${bobToken} bob`), read: () => assert.fail('not read here') }, authFailures);
  const stranger = { pid: 1, uid: other, gid: 0 };
  const hello = (clientId: string, token?: string) => ({ t: 'hello' as const, version: PROTOCOL_VERSION, clientId, ...(token && { token }) });
  assert.throws(() => acceptHello(hello('bob', 'x'.repeat(32)), settings, stranger), { code: 'UNAUTHORIZED' });
  assert.throws(() => acceptHello(hello('bob', bobToken), settings, stranger), { code: 'RATE_LIMITED' }, 'the allowance is spent');
  assert.equal(acceptHello(hello('alice', 'x'.repeat(32)), settings, { pid: 1, uid: me, gid: 0 }).clientId, 'alice');
});

test('in token mode, wrong tokens spend their own Unix user\'s allowance: another user\'s right token is let in', () => {
  const authFailures = new AuthFailures(parseRequestRate('1/min,burst=1')!);
  const settings = helloSettings({ mode: 'token', tokens: parseTokenList(`${bobToken} bob`), read: () => assert.fail('not read here') }, authFailures);
  const guesser = { pid: 1, uid: other, gid: 0 };
  const hello = (token: string) => ({ t: 'hello' as const, version: PROTOCOL_VERSION, clientId: 'bob', token });
  assert.throws(() => acceptHello(hello('x'.repeat(32)), settings, guesser), { code: 'UNAUTHORIZED' });
  assert.throws(() => acceptHello(hello(bobToken), settings, guesser), {
    code: 'RATE_LIMITED',
    message: new RegExp(`from Unix user ${other} \\(STORAGED_SOCKET_AUTH_FAILURE_RATE\\)`),
  });
  assert.equal(acceptHello(hello(bobToken), settings, { pid: 2, uid: me, gid: 0 }).clientId, 'bob', 'another user is not held back');
  // A connection whose user is not known shares one allowance with every other such connection.
  assert.throws(() => acceptHello(hello('y'.repeat(32)), settings, null), { code: 'UNAUTHORIZED' });
  assert.throws(() => acceptHello(hello(bobToken), settings, null), { code: 'RATE_LIMITED', message: /on this socket/ });
  assert.equal(acceptHello(hello(bobToken), settings, { pid: 2, uid: me, gid: 0 }).clientId, 'bob');
});

