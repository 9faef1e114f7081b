// One process at a time on a SQLite catalog (db/catalog-lock.ts): the
// operator commands used to look for a running daemon only through its
// socket, so a daemon whose socket file was removed, or which listened
// elsewhere, had its catalog replaced under it; and a second daemon could
// start on the same file. Real daemons and the real binary, on real files.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { CatalogLock } from '../../src/daemon/db/catalog-lock';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

function photosIn(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM photos WHERE state = 'committed'").pluck().get() as number;
  } finally {
    db.close();
  }
}

async function daemonWithPhoto(t: import('node:test').TestContext) {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null);
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', retry: false });
  const photo = await client.storePhoto(pngBytes(2048), { originalName: 'kept.png', clientId: 'acme' });
  await client.close();
  return { dataDir, env, daemon, photo, catalog: path.join(dataDir, 'storage.db') };
}

test('a running daemon whose socket file was removed still keeps rebuild and restore off its catalog', { timeout: 90_000 }, async (t) => {
  const { env, daemon, catalog } = await daemonWithPhoto(t);
  fs.rmSync(daemon.socketPath);

  for (const args of [['rebuild', '--force'], ['restore'], ['check', '--repair']]) {
    const r = storaged(env, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /in use by another storaged process.*storage\.db\.lock is locked; stop that process before/, args.join(' '));
  }
  assert.equal(fs.existsSync(catalog), true, 'the catalog is where it was');
  assert.equal(photosIn(catalog), 1, 'with its photo');
  assert.deepEqual(fs.readdirSync(path.dirname(catalog)).filter((f) => f.includes('before-') || f.includes('rebuild')), [], 'nothing moved aside');
  assert.equal(daemon.proc.exitCode, null, 'the daemon still runs');
});

test('a second daemon on the same catalog, with a socket of its own, refuses to start', { timeout: 90_000 }, async (t) => {
  const { env, daemon, dataDir } = await daemonWithPhoto(t);
  const second = spawn(process.execPath, [DAEMON_BIN], {
    env: { PATH: process.env.PATH ?? '', ...env, STORAGED_SOCKET: path.join(dataDir, 'second.sock') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  second.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /storage\.db\.lock is locked; stop that process before starting a daemon on it/);
  assert.equal(fs.existsSync(path.join(dataDir, 'second.sock')), false, 'it never listened');

  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', retry: false });
  t.after(() => client.close());
  assert.equal((await client.searchPhotos({})).total, 1, 'the first daemon serves on');
});

test('a daemon killed with SIGKILL leaves no stale lock: the commands run, and the lock file is 0600', { timeout: 90_000 }, async (t) => {
  const { env, daemon, catalog } = await daemonWithPhoto(t);
  assert.equal(fs.statSync(`${catalog}.lock`).mode & 0o777, 0o600);
  await daemon.stop('SIGKILL');
  const r = storaged(env, 'check', '--repair');
  assert.equal(r.status, 0, r.stderr);
  const again = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: again.socketPath, clientId: 'acme', retry: false });
  t.after(() => client.close());
  assert.equal((await client.searchPhotos({})).total, 1, 'a daemon starts again on it');
});

test('a refused try in the process that holds the lock does not let it go', (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  const held = CatalogLock.take(file, 'a test');
  t.after(() => held.release());
  assert.throws(() => CatalogLock.take(file, 'a second try'), { code: 'CATALOG_IN_USE' });
  // Another process must still find it held: a descriptor of the file closed in this one would have dropped it.
  const child = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(require.resolve('../../src/daemon/db/catalog-lock'))}).CatalogLock.take(${JSON.stringify(file)}, 'a child')`],
    { encoding: 'utf8' },
  );
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /CATALOG_IN_USE|is locked/);
});

test('an SQLITE_PATH that is a directory stops the daemon at start with a configuration error, and no command leaves a lock file beside it', (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null);
  // A mistaken SQLITE_PATH (or a volume mounted at the file's name): a directory with someone's files in it.
  const file = path.join(dataDir, 'storage.db');
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'keep-me'), 'x');
  const started = storaged(env);
  assert.equal(started.status, 78, `EX_CONFIG, which the unit does not restart: ${started.stderr}`);
  assert.match(started.stderr, /storage\.db is a directory, not a catalog file.*SQLITE_PATH/);
  assert.doesNotMatch(started.stderr, /EISDIR|\n\s+at /, 'a message, not a stack');
  for (const args of [['restore'], ['rebuild'], ['check'], ['check', '--repair'], ['migrate-catalog', '--to', 'postgres://u@127.0.0.1:1/x']]) {
    const r = storaged(env, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /storage\.db is a directory, not a catalog file/, args.join(' '));
  }
  assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.startsWith('storage.db')), ['storage.db'], 'no storage.db.lock or anything else made beside it');
  assert.deepEqual(fs.readdirSync(file), ['keep-me']);
});
