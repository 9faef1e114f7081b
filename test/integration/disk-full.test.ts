// A full disk under the spool, the blob directory or the database: stores
// fail with a retryable UNAVAILABLE that names the disk, reads go on, nothing
// half-written is left behind, and the daemon stores again once space
// returns. Each disk is a small tmpfs mounted for the test (the tests run as
// root), filled to the last byte.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { tempDir } from '../support/temp-dir';

/** A tmpfs of `size` at a directory of its own (outside the test's temp dir, which is removed while still mounted otherwise). */
function mountTmpfs(t: TestContext, size: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  t.after(() => {
    // Lazy: the daemon may still hold files there until its own cleanup runs.
    execFileSync('umount', ['-l', dir]);
    fs.rmdirSync(dir);
  });
  return dir;
}

/** Fills the file system of `dir` to the last byte; returns a function that gives the space back. */
function fill(dir: string): () => void {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (let size = block.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          fs.writeSync(fd, block, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return () => fs.rmSync(file);
}

const canMount = (() => {
  try {
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();
const skip = canMount ? false : 'mounting a tmpfs needs root';

async function daemonWithDisk(t: TestContext, variable: 'STORAGED_SPOOL_DIR' | 'STORAGED_BLOB_DIR' | 'SQLITE_PATH') {
  const dataDir = tempDir(t);
  const disk = mountTmpfs(t, '4m');
  const where = variable === 'SQLITE_PATH' ? path.join(disk, 'storage.db') : disk;
  const daemon = await startTestDaemon(t, null, { dataDir, env: { [variable]: where, STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * 1024) } });
  const client = daemon.client('acme');
  const kept = await client.storePhoto(pngBytes(20_000), { originalName: 'kept.png', clientId: 'acme' });
  return { dataDir, disk, client, kept, sqlitePath: variable === 'SQLITE_PATH' ? where : path.join(dataDir, 'storage.db') };
}

async function refusedThenStored(
  t: TestContext,
  variable: 'STORAGED_SPOOL_DIR' | 'STORAGED_BLOB_DIR' | 'SQLITE_PATH',
  bodySize: number,
  names: RegExp,
): Promise<{ disk: string; sqlitePath: string }> {
  const { disk, client, kept, sqlitePath } = await daemonWithDisk(t, variable);
  const giveBack = fill(disk);
  await assert.rejects(client.storePhoto(pngBytes(bodySize), { originalName: 'big.png', clientId: 'acme' }), (err: Error & { code?: string; retryable?: boolean }) => {
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, names);
    assert.match(err.message, /full disk/);
    return true;
  });
  assert.equal((await client.getPhoto(kept.id)).id, kept.id, 'reads go on');
  assert.equal(Buffer.concat(await (await client.readPhoto(kept.id)).body.toArray()).length, 20_000);
  const db = new Database(sqlitePath, { readonly: true });
  assert.equal(db.prepare("SELECT count(*) FROM photos WHERE state <> 'committed'").pluck().get(), 0, 'no half-stored row');
  assert.equal(db.prepare('SELECT count(*) FROM photos').pluck().get(), 1);
  db.close();
  giveBack();
  const later = await client.storePhoto(pngBytes(bodySize), { originalName: 'later.png', clientId: 'acme' });
  assert.equal((await client.getPhoto(later.id)).size, bodySize, 'stores again once space returns');
  return { disk, sqlitePath };
}

test('a full spool disk: UNAVAILABLE naming it, no spool file left, stores again after', { skip, timeout: 60_000 }, async (t) => {
  const { disk } = await refusedThenStored(t, 'STORAGED_SPOOL_DIR', 1024 * 1024, /spool directory/);
  assert.deepEqual(fs.readdirSync(disk).filter((f) => f.endsWith('.part')), [], 'no spool file left');
});

test('a full blob directory: UNAVAILABLE naming it, no temp file or blob left, stores again after', { skip, timeout: 60_000 }, async (t) => {
  const { disk } = await refusedThenStored(t, 'STORAGED_BLOB_DIR', 40_000, /blob directory/);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(e.name));
  };
  walk(disk);
  assert.deepEqual(files.filter((f) => f.includes('tmp-upload')), [], 'no temp file left');
  assert.equal(files.filter((f) => f.endsWith('.png')).length, 2, 'only the two stored photos');
});

test('a full database disk: UNAVAILABLE naming the database, stores again after', { skip, timeout: 60_000 }, async (t) => {
  await refusedThenStored(t, 'SQLITE_PATH', 30_000, /the database/);
});
