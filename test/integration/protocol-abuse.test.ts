// Hostile or broken peers on the real daemon's socket: each gets an error or a
// closed connection, while other connections keep working and nothing is left
// half-stored.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame-codec';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { allBlobs } from '../support/blob-presence';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

/** A raw connection that has done the handshake; collects decoded frames. */
async function rawConnection(socketPath: string) {
  const socket = net.connect(socketPath);
  const decoder = new FrameDecoder();
  const frames: Array<Record<string, unknown>> = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (d) => frames.push(...(decoder.push(d) as Array<Record<string, unknown>>)));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(encodeFrame({ t: 'hello', version: PROTOCOL_VERSION, clientId: 'raw' }));
  const waitFor = async (pred: (f: Record<string, unknown>) => boolean, ms = 5000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = frames.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no matching frame; got ${JSON.stringify(frames)}`);
  };
  await waitFor((f) => f.t === 'hello');
  return { socket, frames, closed, waitFor };
}

test('broken frames close only their own connection', { timeout: 60_000 }, async (t) => {
  const d = await startTestDaemon(t, null);
  const healthy = d.client('acme');
  const stored = await healthy.storePhoto(pngBytes(1000), { originalName: 'keep.png', clientId: 'acme' });

  await t.test('unknown op is answered, connection stays', async () => {
    const c = await rawConnection(d.socketPath);
    c.socket.write(encodeFrame({ t: 'call', id: 1, op: 'dropDatabase', args: {} }));
    const answer = await c.waitFor((f) => f.id === 1);
    assert.equal(answer.t, 'error');
    assert.equal((answer.error as { code: string }).code, 'VALIDATION');
    c.socket.write(encodeFrame({ t: 'call', id: 2, op: 'getPhoto', args: { id: stored.id } }));
    assert.equal((await c.waitFor((f) => f.id === 2)).t, 'error'); // another client's photo: NOT_FOUND
    c.socket.destroy();
  });

  await t.test('garbage payload closes the connection', async () => {
    const c = await rawConnection(d.socketPath);
    const junk = Buffer.from([0x00, 0x00, 0x00, 0x04, 0xc1, 0xc1, 0xc1, 0xc1]); // 0xc1 is never valid msgpack
    c.socket.write(junk);
    await c.closed;
  });

  await t.test('oversized length prefix closes the connection', async () => {
    const c = await rawConnection(d.socketPath);
    c.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await c.closed;
  });

  await t.test('a call before the handshake closes the connection', async () => {
    const socket = net.connect(d.socketPath);
    socket.on('error', () => undefined);
    socket.resume(); // read, or the daemon's close is never seen
    socket.write(encodeFrame({ t: 'call', id: 1, op: 'getPhoto', args: { id: stored.id } }));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  });

  // The healthy client's connection was never disturbed.
  assert.equal((await healthy.getPhoto(stored.id)).id, stored.id);
});

test('a client killed mid-upload leaves no row, object or spool file', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_SPOOL_THRESHOLD_BYTES: String(256 * 1024) } });
  const child = spawn(process.execPath, [path.join(__dirname, '../support/upload-forever.js'), d.socketPath, 'acme'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  while (!out.includes('sent 2MB')) {
    if (child.exitCode !== null) assert.fail(`uploader exited early: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // The upload is under way: a spool file exists (threshold is 256 KiB).
  assert.equal(fs.readdirSync(path.join(d.dataDir, 'spool')).length, 1);
  child.kill('SIGKILL');
  await exited;

  const spoolDir = path.join(d.dataDir, 'spool');
  const until = Date.now() + 10_000;
  while (fs.readdirSync(spoolDir).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fs.readdirSync(spoolDir), []);
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  assert.deepEqual(await allBlobs(minio, d.dataDir), []);

  const c = d.client('acme');
  const stored = await c.storePhoto(pngBytes(5000), { originalName: 'after.png', clientId: 'acme' });
  assert.equal((await c.getPhoto(stored.id)).size, 5000);
});
