// A restore that fails after it has fetched and checked its backup (the blob
// store lost while it reconciles the backup with it) leaves the catalog that
// was there in place, untouched, and nothing of its own beside it. It used
// to switch the backup in first and reconcile it in place: a failure then
// left a catalog without the photos stored since the backup, for the next
// daemon to serve, with the old one moved aside.

import * as assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { startForwardingProxy } from '../support/forwarding-proxy';
import { pngBytes } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const TOKEN = randomBytes(24).toString('base64url');

function storaged(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, report: r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) : null };
}

/** As storaged(), without blocking this process: the proxy in front of MinIO runs here. */
function storagedAsync(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DAEMON_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

const digestOf = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('a restore that fails while reconciling leaves the catalog that was there, and no file of its own', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { STORAGED_TOKENS: `${TOKEN} acme`, BACKUP_INTERVAL: '0' });
  let daemon = await spawnDaemon(t, env);
  let client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token: TOKEN });
  const store = (name: string) => client.storePhoto(pngBytes(2000 + name.length), { originalName: name, clientId: 'acme', userId: 'u' });
  await store('before.png');
  assert.equal(storaged(env, 'backup').status, 0);
  const since = await store('since.png');
  await client.close();
  assert.equal(await daemon.stop('SIGTERM'), 0);

  // MinIO behind a proxy that serves until the backup's file has been sent, then drops every request.
  let backupSent = false;
  const port = await startForwardingProxy(t, { host: minio.endPoint, port: minio.port }, (req, res, answer) => {
    if (backupSent) {
      answer.resume();
      res.destroy();
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
    if (req.method === 'GET' && /\/backups\/.*\.sqlite/.test(req.url ?? '')) answer.on('end', () => (backupSent = true));
  });
  const catalogFile = path.join(dataDir, 'storage.db');
  const before = digestOf(catalogFile);
  const listing = () => fs.readdirSync(dataDir).filter((name) => !name.startsWith('d.sock')).sort();
  const filesBefore = listing();

  const failed = await storagedAsync({ ...env, MINIO_PORT: String(port) }, 'restore');
  assert.equal(backupSent, true, `the backup was fetched: the failure came after it\n${failed.stderr}`);
  assert.equal(failed.status, 2, failed.stderr);
  assert.equal(digestOf(catalogFile), before, 'the catalog that was there is untouched');
  assert.deepEqual(listing(), filesBefore, 'nothing moved aside, no temporary file left');

  // The same restore with the store reachable succeeds, and the photo stored since the backup is there.
  const restored = storaged(env, 'restore');
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal(restored.report.readopted.adopted, 1);
  daemon = await spawnDaemon(t, env);
  client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token: TOKEN });
  t.after(() => client.close());
  assert.equal((await client.getPhoto(since.id)).original_filename, 'since.png');
});
