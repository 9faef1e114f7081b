// The hand-written SO_PEERCRED addon (packages/peer-credentials): what the
// kernel says about the other end of a real Unix socket, and the errors for
// descriptors that are no such socket.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadPeerCredentials, peerOf, type ReadPeerCredentials } from '../../src/daemon/socket/peer-credentials';
import { tempDir } from '../support/temp-dir';

function addon(): ReadPeerCredentials {
  const read = loadPeerCredentials();
  // Built by `npm ci` (root optionalDependencies); a failure here means the build failed, which the tests must show.
  if (typeof read !== 'function') assert.fail(read.problem);
  return read;
}

/** Both ends of one connection on a fresh socket, closed when the test ends. */
async function connectedPair(t: TestContext): Promise<{ accepted: net.Socket; dialed: net.Socket }> {
  const socketPath = path.join(tempDir(t), 'p.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const acceptedP = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const dialed = net.connect(socketPath);
  await new Promise<void>((resolve, reject) => dialed.once('connect', resolve).once('error', reject));
  const accepted = await acceptedP;
  t.after(async () => {
    dialed.destroy();
    accepted.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { accepted, dialed };
}

test("the accepted end of a connection reads the connecting process's pid, uid and gid", async (t) => {
  const { accepted, dialed } = await connectedPair(t);
  const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
  assert.deepEqual(peerOf(accepted, addon()), me);
  // The listener is this process too, so the dialing end sees the same.
  assert.deepEqual(peerOf(dialed, addon()), me);
});

test('a descriptor that is no socket, or no descriptor, is refused with a code', (t) => {
  const read = addon();
  const file = path.join(tempDir(t), 'f');
  fs.writeFileSync(file, 'x');
  const fd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(fd));
  assert.throws(() => read(fd), { code: 'ENOTSOCK', message: new RegExp(`getsockopt\\(${fd}, SO_PEERCRED\\) failed`) });
  assert.throws(() => read(1_000_000), { code: 'EBADF' });
  assert.throws(() => read(-1), RangeError);
  assert.throws(() => read(1.5), RangeError);
  assert.throws(() => (read as (fd: unknown) => unknown)('3'), TypeError);
});

test('a closed connection has no descriptor to read, and says so', async (t) => {
  const { accepted } = await connectedPair(t);
  accepted.destroy();
  await new Promise((resolve) => accepted.once('close', resolve));
  assert.throws(() => peerOf(accepted, addon()), /no file descriptor/);
});

test('an addon that is not built is reported with how to build it', () => {
  const result = loadPeerCredentials('storaged-no-such-addon');
  assert.equal(typeof result, 'object');
  const { problem } = result as { problem: string };
  assert.match(problem, /storaged-no-such-addon .*is not built/);
  assert.match(problem, /npm_config_nodedir=\/usr npm rebuild storaged-no-such-addon/);
});
