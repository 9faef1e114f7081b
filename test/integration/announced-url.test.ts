// The local backend's URLs must be reachable: listening on every interface,
// the daemon refuses to start until told the URL clients use, and then hands
// out URLs under it that fetch the bytes.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { DAEMON_BIN, spawnDaemon } from '../support/daemon-process';
import { pngBytes, sha256 } from '../support/image-bytes';
import { tempDir } from '../support/temp-dir';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a wildcard HOST without STORAGED_PUBLIC_URL stops the daemon with one line', (t) => {
  const env = daemonEnv(tempDir(t), null, { HOST: '0.0.0.0' });
  const r = spawnSync(process.execPath, [DAEMON_BIN], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 78);
  assert.match(r.stderr, /^storaged: STORAGED_PUBLIC_URL: HOST is '0.0.0.0' \(every interface\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('with STORAGED_PUBLIC_URL the URLs handed out are under it and fetch the bytes', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const env = daemonEnv(tempDir(t), null, { HOST: '0.0.0.0', PORT: String(port), STORAGED_PUBLIC_URL: `http://localhost:${port}` });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme' });
  t.after(() => client.close());
  const body = pngBytes(4000);
  const stored = await client.storePhoto(body, { originalName: 'p.png', clientId: 'acme' });
  assert.ok(stored.s3_url.startsWith(`http://localhost:${port}/blobs/`), stored.s3_url);
  assert.equal(sha256(Buffer.from(await (await fetch(stored.s3_url)).arrayBuffer())), sha256(body));
});
