// The light client (packages/storaged-client) as an application gets it:
// built and packed with npm, installed from the tarball into an empty folder,
// and used from there against a real daemon on real MinIO. Installing it
// brings the client's three packages and nothing of the daemon's.

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const run = promisify(execFile);
const PACKAGE_DIR = path.resolve(__dirname, '../../../packages/storaged-client');
const DAEMON_ONLY = ['better-sqlite3', 'minio', 'piscina', 'pino', 'tinybench', 'storaged'];

// What the application runs from its own folder: a store and a get, through the installed package only.
const APP = `
const { StorageClient, NotFoundError } = require('storaged-client');
(async () => {
  const client = new StorageClient({ socketPath: process.env.SOCKET, clientId: 'acme', token: process.env.TOKEN });
  const body = Buffer.from(process.env.BODY, 'base64');
  const stored = await client.storePhoto(body, { originalName: 'from-the-package.png', clientId: 'acme' });
  const photo = await client.getPhoto(stored.id);
  const bytes = Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray());
  let notFound = false;
  try { await client.getPhoto('00000000-0000-4000-8000-000000000000'); } catch (err) { notFound = err instanceof NotFoundError; }
  await client.close();
  console.log(JSON.stringify({ id: stored.id, checksum: photo.checksum, size: photo.size, url: photo.s3_url, bytes: bytes.toString('base64'), notFound }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

test('storaged-client: packed, installed into an empty folder, stores and gets against a daemon', { timeout: 180_000 }, async (t) => {
  const work = tempDir(t);
  const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE_DIR, maxBuffer: 16 << 20 });
  const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path);
  assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'the entry point and its types');
  assert.ok(files.includes('dist/s3/sigv4-presigner.js'), 'the presigner, for URLs signed in the client');
  assert.deepEqual(files.filter((f) => /^dist\/(daemon|workers)\//.test(f)), [], "nothing of the daemon's");

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, info!.filename)], { cwd: app, maxBuffer: 16 << 20 });
  const installed = fs.readdirSync(path.join(app, 'node_modules')).filter((name) => !name.startsWith('.'));
  for (const name of DAEMON_ONLY) assert.ok(!installed.includes(name), `${name} is not installed with the client`);
  for (const name of ['storaged-client', 'msgpackr', 'undici', 'lru-cache']) assert.ok(installed.includes(name), `${name} is installed`);
  // The exports map keeps the client's insides private, as the daemon package does.
  await assert.rejects(run(process.execPath, ['-e', "require('storaged-client/dist/sidecar-client/client-connection.js')"], { cwd: app }), /ERR_PACKAGE_PATH_NOT_EXPORTED/);

  const minio = await startMinio(t);
  const daemon = await startTestDaemon(t, minio, { env: { STORAGED_TOKENS: 'package-token-0123456789 acme' } });
  const body = pngBytes(20_000);
  const { stdout } = await run(process.execPath, ['-e', APP], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', SOCKET: daemon.socketPath, TOKEN: 'package-token-0123456789', BODY: body.toString('base64') },
  });
  const answer = JSON.parse(stdout) as { id: string; checksum: string; size: number; url: string; bytes: string; notFound: boolean };
  assert.equal(answer.checksum, sha256(body));
  assert.equal(answer.size, body.length);
  assert.equal(sha256(Buffer.from(answer.bytes, 'base64')), sha256(body));
  assert.equal(answer.notFound, true, 'the typed errors come with it');
  assert.equal(sha256(Buffer.from(await (await fetch(answer.url)).arrayBuffer())), sha256(body), 'its URL serves the bytes');
  assert.equal((await daemon.daemon.catalog.getPhoto('acme', answer.id))?.original_filename, 'from-the-package.png');
});
