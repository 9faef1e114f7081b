// The socket file is never, not for a moment, more open than its mode: a
// socket bound with the process's umask and chmod-ed afterwards could be
// connected to by any local user in between (through the temporary name it is
// bound under), for as long as the thread pool took to run the chmod.

import * as assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/daemon/logger';
import { SocketServer } from '../../src/daemon/socket/socket-server';
import { MemoryCoordinator } from './memory-coordinator';
import { tempSocketDir } from './socket-harness';

/** Occupies every thread of libuv's pool for a while, as a daemon busy with spool writes and hashing does. */
function busyThreadPool(): Promise<unknown> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  return Promise.all(
    Array.from({ length: threads }, () => new Promise((resolve) => pbkdf2('x', 'y', 150_000, 32, 'sha256', resolve))),
  );
}

/**
 * Watches every socket file that appears in `dir`, from the main thread at
 * every turn of the event loop, until stopped; returns what it saw.
 */
function watchSockets(dir: string, allowed: () => number): { stop: () => { seen: number; loose: string[] } } {
  let seen = 0;
  const loose: string[] = [];
  let running = true;
  const look = () => {
    if (!running) return;
    for (const name of fs.readdirSync(dir)) {
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(path.join(dir, name));
      } catch {
        continue; // unlinked between readdir and lstat
      }
      if (!stat.isSocket()) continue;
      seen += 1;
      const mode = stat.mode & 0o777;
      if ((mode & ~allowed()) !== 0) loose.push(`${name} ${mode.toString(8)} (allowed ${allowed().toString(8)})`);
    }
    setImmediate(look);
  };
  look();
  return {
    stop: () => {
      running = false;
      return { seen, loose };
    },
  };
}

async function startAndStop(t: TestContext, dir: string, mode: number): Promise<void> {
  const server = new SocketServer({
    path: path.join(dir, `storaged-${mode.toString(8)}.sock`),
    coordinator: new MemoryCoordinator() as never,
    logger: createLogger('warn', new Writable({ write: (_c, _e, done) => done() })),
    maxBodyBytes: 1024,
    version: 'test',
    mode,
  });
  t.after(() => server.close());
  const busy = busyThreadPool();
  await server.listen();
  await busy;
  assert.equal(fs.statSync(server.path).mode & 0o777, mode);
  await server.close();
}

test('with umask 0 and a busy thread pool, no socket file ever appears more open than its mode', { timeout: 60_000 }, async (t) => {
  const previous = process.umask(0);
  t.after(() => process.umask(previous));
  const dir = tempSocketDir(t);
  let mode = 0;
  const watch = watchSockets(dir, () => mode);
  for (mode of [0o660, 0o600, 0o660, 0o600]) await startAndStop(t, dir, mode);
  const { seen, loose } = watch.stop();
  // The watch looked while the sockets existed, the temporary names included (the pool held back their chmod).
  assert.ok(seen > 0, 'the watch saw the socket files');
  assert.deepEqual(loose, [], 'socket files seen more open than their mode');
  // The umask the daemon borrowed is given back.
  assert.equal(process.umask(0), 0);
});
