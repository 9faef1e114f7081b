// `storaged check` as an operator runs it: a clean store passes; a missing
// object, rotted bytes and an orphan are each reported, and nothing is changed.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { PhotoResult } from '../../src/protocol/types';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

function check(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, 'check', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, report: r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

test('storaged check finds missing objects, rotted bytes and orphans, and changes nothing', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, null, { STORAGED_ORPHAN_GRACE_S: '0' });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'ops' });
  const photos: PhotoResult[] = [];
  for (let i = 0; i < 3; i++) photos.push(await client.storePhoto(pngBytes(5000 + i), { originalName: `c${i}.png`, clientId: 'ops' }));
  await client.close();

  // Consistent, and safe beside a running daemon.
  const clean = check(env, '--verify-checksums');
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.report.ok, true);
  assert.equal(clean.report.committedChecked, 3);
  assert.equal(clean.report.bytesVerified, 5000 + 5001 + 5002);
  assert.equal(await daemon.stop('SIGTERM'), 0);

  const file = (p: PhotoResult) => path.join(dataDir, 'blobs', p.bucket, p.s3_key);
  fs.rmSync(file(photos[0]!));
  const rotten = fs.readFileSync(file(photos[1]!));
  rotten[100] = rotten[100]! ^ 0xff;
  fs.writeFileSync(file(photos[1]!), rotten);
  const orphan = path.join(dataDir, 'blobs', 'images', '2020', '01', '00000000-0000-4000-8000-000000000000.png');
  fs.mkdirSync(path.dirname(orphan), { recursive: true });
  fs.writeFileSync(orphan, pngBytes(10));

  const quick = check(env);
  assert.equal(quick.status, 1);
  assert.deepEqual(quick.report.problems.map((p: { id: string; problem: string }) => [p.id, p.problem]), [[photos[0]!.id, 'missing']]);
  assert.deepEqual(quick.report.orphans.map((o: { key: string }) => o.key), ['2020/01/00000000-0000-4000-8000-000000000000.png']);

  const deep = check(env, '--verify-checksums');
  assert.equal(deep.status, 1);
  assert.deepEqual(
    deep.report.problems.map((p: { id: string; problem: string }) => [p.id, p.problem]),
    [[photos[0]!.id, 'missing'], [photos[1]!.id, 'checksum-mismatch']],
  );
  assert.ok(fs.existsSync(orphan), 'check repairs nothing');

  const bad = spawnSync(process.execPath, [DAEMON_BIN, 'check', '--fix'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /unknown argument '--fix' for check/);
});
