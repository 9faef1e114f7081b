// A real MinIO that speaks only TLS, with the test certificate for 127.0.0.1
// (fixtures/), for the workers' TLS path: payloads sent UNSIGNED-PAYLOAD, reads
// through node:https. test/support/minio-server.ts starts plain-HTTP servers.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as Minio from 'minio';
import { freePort } from '../support/free-port';
import { findOrBuildMinio } from '../support/minio-binary';
import { TEST_TLS } from './scripted-http-server';

export interface TlsMinio {
  settings: { endPoint: string; port: number; useSSL: true; accessKey: string; secretKey: string; region: string; idleTimeoutMs: number };
  /** A minio-js client that trusts the test certificate, for setting up and checking. */
  client: Minio.Client;
}

const LIVE_TIMEOUT_MS = 30_000;

function live(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/minio/health/live', ca: TEST_TLS.cert, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startTlsMinio(t: { after(fn: () => unknown): void }): Promise<TlsMinio> {
  const bin = await findOrBuildMinio();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-tls-minio-'));
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(certs);
  fs.writeFileSync(path.join(certs, 'public.crt'), TEST_TLS.cert);
  fs.writeFileSync(path.join(certs, 'private.key'), TEST_TLS.key, { mode: 0o600 });
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKey = `tls${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(18).toString('hex');
  const args = ['server', path.join(dir, 'data'), '--certs-dir', certs, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'];
  const child = spawn(bin, args, {
    env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)));
  // A runner that exits early must not leave the server behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  t.after(async () => {
    process.removeListener('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  while (!(await live(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`TLS minio did not become live on 127.0.0.1:${port}:\n${errors}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const transportAgent = new https.Agent({ ca: TEST_TLS.cert });
  return {
    settings: { endPoint: '127.0.0.1', port, useSSL: true, accessKey, secretKey, region: 'us-east-1', idleTimeoutMs: 30_000 },
    client: new Minio.Client({ endPoint: '127.0.0.1', port, useSSL: true, accessKey, secretKey, region: 'us-east-1', transportAgent }),
  };
}
