// The storaged binary as an operator meets it: wrong arguments and wrong
// settings stop it with one line that says what to fix.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { tempDir } from '../support/temp-dir';

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
}

test('--version prints the package version', () => {
  const r = run(['--version'], {});
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('an unknown argument exits 64 with usage', () => {
  const r = run(['--frobnicate'], {});
  assert.equal(r.status, 64);
  assert.match(r.stderr, /unknown argument '--frobnicate'/);
  assert.match(r.stderr, /usage: storaged/);
});

test('a wrong setting exits 78 with one line naming the variable', (t) => {
  const r = run([], { STORAGED_DATA_DIR: tempDir(t), MINIO_ENDPOINT: 'localhost', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b', MINIO_PORT: 'abc' });
  assert.equal(r.status, 78);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^storaged: MINIO_PORT: expected an integer between 1 and 65535, got 'abc'/);
  assert.ok(!r.stderr.includes("'b'"), 'the secret key must not be echoed');
});

test('a SIGTERM the moment the daemon says it is ready stops it cleanly, every time', { timeout: 60_000 }, async (t) => {
  for (let i = 0; i < 5; i++) {
    const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null));
    // spawnDaemon returns on the 'storaged ready' line; the signal follows at once.
    assert.equal(await daemon.stop('SIGTERM'), 0, `run ${i}: ${daemon.stderr()}`);
    assert.match(daemon.stdout(), /"msg":"stopping"/);
  }
});

test('check (with --repair), rebuild, backup and restore refuse a shared PostgreSQL catalog: they would act on a SQLite file beside the shared MinIO', (t) => {
  // Nothing listens at this URL: a command that got past the refusal would fail otherwise, with another message.
  const env = {
    STORAGED_DATA_DIR: tempDir(t), MINIO_ENDPOINT: '127.0.0.1', MINIO_PORT: '9', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b',
    STORAGED_CATALOG_URL: 'postgres://storaged:s3cret-pw@127.0.0.1:9/storaged',
  };
  for (const args of [['check', '--repair'], ['check'], ['rebuild', '--force'], ['backup'], ['restore']]) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^storaged: ${args[0]} works on the embedded SQLite catalog, and STORAGED_CATALOG_URL points this storaged at PostgreSQL`));
    assert.ok(!r.stderr.includes('s3cret-pw'), 'the catalog password is not echoed');
  }
});

test('rebuild --force that cannot reach the blob store leaves the catalog where it was: an empty one in its place would be served by the next daemon', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'storage.db');
  const db = new Database(file);
  db.exec('CREATE TABLE photos (id TEXT PRIMARY KEY)');
  db.prepare('INSERT INTO photos (id) VALUES (?)').run('p1');
  db.close();
  // Nothing listens on port 9: the blob store cannot be reached.
  const r = run(['rebuild', '--force'], { STORAGED_DATA_DIR: dir, MINIO_ENDPOINT: '127.0.0.1', MINIO_PORT: '9', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^storaged: rebuild failed/);
  const kept = new Database(file, { readonly: true, fileMustExist: true });
  try {
    assert.equal(kept.prepare('SELECT count(*) FROM photos').pluck().get(), 1, 'the catalog with its photo is still in place');
  } finally {
    kept.close();
  }
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('before-rebuild') || f.includes('.rebuild-')), [], 'nothing moved aside, no half-built file left');
});

test('an option given twice is refused with exit 64, not settled silently by the last one (restore --from A --from B would restore B)', (t) => {
  const env = { STORAGED_DATA_DIR: tempDir(t), MINIO_ENDPOINT: '127.0.0.1', MINIO_PORT: '9', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' };
  for (const args of [
    ['restore', '--from', 'catalog-20261204T011500000Z', '--from', 'latest'],
    ['migrate-catalog', '--to-file', '/nonexistent/a', '--to-file', '/nonexistent/b'],
  ]) {
    const r = run(args, env);
    assert.equal(r.status, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^storaged: option '${args[1]}' given twice \\(${args[0]}\\)`));
  }
});

test('rebuild over a catalog file SQLite cannot read: refused with what to do, and --force moves it aside and rebuilds', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'storage.db');
  // What a lost database often looks like: a file that is no longer one.
  const garbage = Buffer.alloc(8192, 0x5a);
  fs.writeFileSync(file, garbage);
  // The blob store survived (the local backend's directory, empty here).
  fs.mkdirSync(path.join(dir, 'blobs'));
  const env = daemonEnv(dir, null);
  const refused = run(['rebuild'], env);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^storaged: .*storage\.db cannot be read as a catalog \(.*\).*--force/);
  assert.deepEqual(fs.readFileSync(file), garbage, 'left as it was');

  const forced = run(['rebuild', '--force'], env);
  assert.equal(forced.status, 0, forced.stderr);
  const report = JSON.parse(forced.stdout) as { movedAside: string | null };
  assert.ok(report.movedAside !== null && report.movedAside.includes('before-rebuild'));
  assert.deepEqual(fs.readFileSync(report.movedAside), garbage, 'moved aside, not deleted');
});

test('rebuild where only the lost catalog\'s WAL file is left does not let SQLite replay that WAL over the new catalog', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'blobs'));
  // The operator removed storage.db but not storage.db-wal: a WAL holding another database's pages.
  const other = path.join(tempDir(t), 'other.db');
  const db = new Database(other);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE photos (id TEXT); CREATE TABLE not_a_catalog_table (x)');
  db.prepare('INSERT INTO photos (id) VALUES (?)').run('stale');
  fs.copyFileSync(`${other}-wal`, path.join(dir, 'storage.db-wal'));
  db.close();

  const r = run(['rebuild'], daemonEnv(dir, null));
  assert.equal(r.status, 0, r.stderr);
  const rebuilt = new Database(path.join(dir, 'storage.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = rebuilt.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    assert.ok(!tables.includes('not_a_catalog_table'), `the stale WAL was replayed: ${tables.join(', ')}`);
    assert.equal(rebuilt.prepare('SELECT count(*) FROM photos').pluck().get(), 0);
  } finally {
    rebuilt.close();
  }
  assert.ok(fs.readdirSync(dir).some((f) => f.includes('before-rebuild') && f.endsWith('-wal')), 'the stale WAL was kept aside, not deleted');
});

test('restore and rebuild refuse an SQLITE_PATH that is a directory instead of moving the directory aside', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'blobs'));
  const env = daemonEnv(dir, null);
  const file = path.join(dir, 'storage.db');
  assert.equal(run(['rebuild'], env).status, 0, 'an empty catalog to back up');
  const backup = run(['backup'], env);
  assert.equal(backup.status, 0, backup.stderr);
  for (const ext of ['', '-wal', '-shm']) fs.rmSync(file + ext, { force: true });
  // A mistaken SQLITE_PATH (or a volume mounted at the file's name): a directory with someone's files in it.
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'keep-me'), 'x');
  for (const args of [['restore'], ['rebuild'], ['rebuild', '--force']]) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^storaged: .*storage\.db is a directory, not a catalog file.*SQLITE_PATH/, args.join(' '));
    assert.equal(fs.readFileSync(path.join(file, 'keep-me'), 'utf8'), 'x', `${args.join(' ')}: the directory is left where it was`);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('before-')), [], `${args.join(' ')}: nothing moved aside`);
  }
});
