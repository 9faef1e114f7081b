// The cleanup of the spool at start removes what a crashed storaged left, and
// nothing else: STORAGED_SPOOL_DIR may be a directory other programs use
// (/var/tmp), and their `*.part` files are not ours to remove. Backups take
// their catalog snapshot there too: one whose process was killed is removed,
// one that a `storaged backup` beside the daemon still uploads is not.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { clearStaleSnapshots, takeBackup } from '../../src/daemon/backup/catalog-backups';
import type { BlobStore } from '../../src/daemon/blobs/blob-store';
import { isSpoolName, SpoolFile } from '../../src/daemon/intake/spool-file';
import { startTestDaemon } from '../support/in-process-daemon';
import { tempDir } from '../support/temp-dir';

/** A spool file as a daemon killed mid-receive leaves it: opened, written to, never finished or discarded. */
async function leftover(dir: string): Promise<string> {
  const spool = new SpoolFile(dir, () => undefined);
  await spool.open();
  await spool.append(Buffer.from('half a body'));
  await spool.finish();
  return spool.path;
}

test('a foreign x.part in a shared spool directory survives a restart; the daemon\'s own leftovers are removed', { timeout: 30_000 }, async (t) => {
  const shared = tempDir(t, 'shared-spool-');
  const ours = [await leftover(shared), await leftover(shared)];
  const foreign = [
    'x.part',
    // The form of the names storaged gave spool files before they had a prefix: as likely another program's.
    `${randomUUID()}.part`,
    'storaged-spool-not-a-uuid.part',
    `storaged-spool-${randomUUID()}.part.keep`,
    `storaged-spool-${randomUUID().toUpperCase()}.part`,
  ];
  for (const name of foreign) fs.writeFileSync(path.join(shared, name), `belongs to someone else: ${name}`);
  // A directory named like a spool file is not one either.
  fs.mkdirSync(path.join(shared, `storaged-spool-${randomUUID()}.part`));
  const dirLike = fs.readdirSync(shared).find((n) => fs.statSync(path.join(shared, n)).isDirectory())!;

  const d = await startTestDaemon(t, null, { env: { STORAGED_SPOOL_DIR: shared } });
  for (const file of ours) assert.equal(fs.existsSync(file), false, `${path.basename(file)} was the daemon's own, and is removed`);
  for (const name of foreign) {
    assert.equal(fs.readFileSync(path.join(shared, name), 'utf8'), `belongs to someone else: ${name}`, `${name} is left as it was`);
  }
  assert.ok(fs.statSync(path.join(shared, dirLike)).isDirectory());
  assert.deepEqual(
    d.logs.filter((l) => l.msg === 'removed spool files left by an earlier run').map((l) => l.removed),
    [2],
  );
});

test('the names SpoolFile makes are exactly the names the cleanup removes', async (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 20; i++) {
    const spool = new SpoolFile(dir, () => undefined);
    assert.ok(isSpoolName(path.basename(spool.path)), spool.path);
    assert.match(path.basename(spool.path), /^storaged-spool-/);
  }
  for (const name of ['x.part', `${randomUUID()}.part`, `storaged-spool-${randomUUID()}`, `storaged-spool-${randomUUID()}.part/`, `a/storaged-spool-${randomUUID()}.part`]) {
    assert.equal(isSpoolName(name), false, name);
  }
});

/** The pid of a process that has exited: a killed backup's. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test("a catalog snapshot left by a killed backup is removed at start; one whose process still runs, and anything else, is kept", { timeout: 30_000 }, async (t) => {
  const shared = tempDir(t, 'shared-spool-');
  // The name takeBackup gives its snapshot, seen by a snapshotter that stops the backup there.
  let made = '';
  await assert.rejects(
    takeBackup({ blobs: {} as BlobStore, namespace: 'storaged' }, {
      sqlitePath: path.join(shared, 'none.db'),
      tempDir: shared,
      keep: 1,
      snapshot: async (_source, target) => {
        made = path.basename(target);
        throw new Error('stopped before the snapshot');
      },
    }),
    /stopped before the snapshot/,
  );
  assert.match(made, new RegExp(`^storaged-backup-${process.pid}-[0-9a-f-]{36}\\.sqlite$`));
  const killed = made.replace(`-${process.pid}-`, `-${deadPid()}-`);
  // This process runs the daemon below, and stands for a `storaged backup` still uploading beside it.
  const running = `storaged-backup-${process.pid}-${randomUUID()}.sqlite`;
  const foreign = [`backup-${randomUUID()}.sqlite`, `storaged-backup-x-${randomUUID()}.sqlite`, `storaged-backup-${deadPid()}-${randomUUID()}.sqlite.keep`];
  for (const name of [killed, running, ...foreign]) fs.writeFileSync(path.join(shared, name), 'a catalog copy');

  const d = await startTestDaemon(t, null, { env: { STORAGED_SPOOL_DIR: shared } });
  assert.equal(fs.existsSync(path.join(shared, killed)), false, 'the killed backup\'s snapshot is removed');
  for (const name of [running, ...foreign]) assert.ok(fs.existsSync(path.join(shared, name)), `${name} is kept`);
  assert.deepEqual(
    d.logs.filter((l) => l.msg === 'removed catalog snapshots left by backups that were killed').map((l) => l.removed),
    [1],
  );
  assert.equal(await clearStaleSnapshots(shared), 0, 'nothing more to remove');
});

