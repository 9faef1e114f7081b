import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../src/daemon/logger';
import { SocketServer } from '../../src/daemon/socket/socket-server';
import { MemoryCoordinator } from './memory-coordinator';
import { rawConnection, startServer, tempSocketDir } from './socket-harness';

function server(socketPath: string): SocketServer {
  return new SocketServer({
    path: socketPath,
    coordinator: new MemoryCoordinator(),
    logger: createLogger('silent'),
    maxBodyBytes: 1000,
    version: 'test',
  });
}

/** Leaves a socket file nobody listens on, as a daemon killed with SIGKILL does. */
function staleSocket(socketPath: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  assert.ok(fs.lstatSync(socketPath).isSocket(), 'stale socket left behind');
}

test('a stale socket file is replaced', async (t) => {
  const socketPath = path.join(tempSocketDir(t), 's.sock');
  staleSocket(socketPath);
  const s = server(socketPath);
  await s.listen();
  t.after(() => s.close());
  const c = await rawConnection(t, socketPath);
  assert.equal(c.frames[0]!.t, 'hello');
});

test('a live socket is not stolen', async (t) => {
  const h = await startServer(t);
  const second = server(h.socketPath);
  await assert.rejects(second.listen(), new RegExp(`another storaged is listening on ${h.socketPath}`));
  // The first server still serves.
  const c = await rawConnection(t, h.socketPath);
  assert.equal(c.frames[0]!.t, 'hello');
});

test('a regular file at the path is refused and left alone', async (t) => {
  const socketPath = path.join(tempSocketDir(t), 'not-a-socket');
  fs.writeFileSync(socketPath, 'precious');
  await assert.rejects(server(socketPath).listen(), /exists and is not a socket; refusing to replace it/);
  assert.equal(fs.readFileSync(socketPath, 'utf8'), 'precious');
});

test('the socket is mode 0660 (or as configured), in a 0750 parent created if missing', async (t) => {
  const socketPath = path.join(tempSocketDir(t), 'run', 's.sock');
  const s = server(socketPath);
  await s.listen();
  t.after(() => s.close());
  assert.equal(fs.statSync(socketPath).mode & 0o777, 0o660);
  assert.equal(fs.statSync(path.dirname(socketPath)).mode & 0o777, 0o750 & ~process.umask());

  const otherPath = path.join(tempSocketDir(t), 'o.sock');
  const other = new SocketServer({
    path: otherPath,
    coordinator: new MemoryCoordinator(),
    logger: createLogger('silent'),
    maxBodyBytes: 1,
    version: 'test',
    mode: 0o600,
  });
  await other.listen();
  t.after(() => other.close());
  assert.equal(fs.statSync(otherPath).mode & 0o777, 0o600);
});

test('close() removes only the socket file it created', async (t) => {
  const h = await startServer(t);
  await h.server.close();
  assert.equal(fs.existsSync(h.socketPath), false);

  // A successor took the path while we were running: our close must not remove its socket.
  const dir = tempSocketDir(t);
  const socketPath = path.join(dir, 's.sock');
  const first = server(socketPath);
  await first.listen();
  fs.renameSync(socketPath, path.join(dir, 'moved.sock'));
  const successor = net.createServer().listen(socketPath);
  await new Promise((r) => successor.once('listening', r));
  t.after(() => successor.close());
  await first.close();
  assert.ok(fs.lstatSync(socketPath).isSocket());
});
