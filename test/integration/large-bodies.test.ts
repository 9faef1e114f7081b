// Bodies of hundreds of megabytes: spooled while they arrive, hashed and sent
// to MinIO in parts by the worker pool, read back in parts — with the daemon's
// memory bounded whatever the size, and nothing left behind when one fails.

import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { sparePartSlots } from '../../src/daemon/blobs/read-in-parts';
import { spareFrameSlots } from '../../src/daemon/memory/upload-frames';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { allBlobs } from '../support/blob-presence';
import { startChunkingProxy } from '../support/chunking-proxy';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { rejectsWithCode } from '../support/expect-code';
import { jpegBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';
import { incompleteUploadsOf } from '../support/incomplete-uploads';

const MIB = 1024 * 1024;
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);

/** `size` bytes of a JPEG-looking body, generated as it is read (never held whole); hashes what it yields. */
function generatedBody(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  const block = randomBytes(MIB);
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const piece = sent === 0 ? Buffer.concat([JPEG_HEAD, block.subarray(JPEG_HEAD.length)]) : Buffer.from(block);
      // Every MiB differs from the last, so a part written twice or out of order changes the digest.
      piece.writeUInt32BE(sent / MIB, piece.length - 4);
      const out = piece.subarray(0, Math.min(piece.length, size - sent));
      sent += out.length;
      hash.update(out);
      this.push(out);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

async function sha256Of(body: Readable): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const part of body) {
    hash.update(part as Buffer);
    bytes += (part as Buffer).length;
  }
  return { digest: hash.digest('hex'), bytes };
}

async function incompleteUploads(minio: MinioHandle): Promise<string[]> {
  const found: string[] = [];
  for (const bucket of ['images', 'images-large']) {
    for (const u of await incompleteUploadsOf(minio.client, bucket)) found.push(`${bucket}/${u.key}`);
  }
  return found;
}

/** Peak resident memory of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line!)![1]) * 1024;
}

/** Stores 300 MB and reads it back, directly or through a proxy that answers chunked, within the RSS bound. */
async function bigRoundTrip(t: TestContext, proxied: boolean): Promise<void> {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  // The workers' raw reader decodes the proxy's chunked answers into the part memory as it does MinIO's own.
  const proxy = proxied ? await startChunkingProxy(t, { host: minio.endPoint, port: minio.port }) : null;
  const daemon = await spawnDaemon(t, daemonEnv(dataDir, { ...minio, port: proxy?.port ?? minio.port }, { STORAGED_MAX_BODY_BYTES: String(400 * MIB) }));
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 500_000 });
  t.after(() => client.close());

  const idle = peakRss(daemon.proc.pid!);
  const size = 300 * 1000 * 1000;
  const body = generatedBody(size);
  const stored = await client.storePhoto(body.stream, { originalName: 'big.jpg', clientId: 'acme', contentType: 'image/jpeg' });
  assert.equal(stored.size, size);
  assert.equal(stored.checksum, body.digest(), 'the recorded sha256 is of the bytes the caller sent');
  assert.equal(stored.bucket, 'images-large');

  const afterStore = peakRss(daemon.proc.pid!);
  const whole = await client.readPhoto(stored.id);
  assert.deepEqual(await sha256Of(whole.body), { digest: stored.checksum, bytes: size });

  // The bound, 200 MB, taken as 200,000,000 bytes (190.7 MiB), the stricter reading.
  // The peak is VmHWM over the daemon's whole life, so it covers the store and the read.
  const peak = peakRss(daemon.proc.pid!);
  const mib = (n: number) => `${(n / MIB).toFixed(0)} MiB`;
  t.diagnostic(`daemon peak RSS: idle ${mib(idle)}, after the store ${mib(afterStore)}, after the read ${mib(peak)}`);
  assert.ok(peak < 200 * 1000 * 1000, `the daemon's peak RSS was ${mib(peak)}, over 200 MB`);
  // The workers read each part straight into the memory the main thread lends, with no buffer per
  // socket read: 3-13 MiB more than the store's peak, where reading through node:http added 44-47 MiB.
  assert.ok(peak - afterStore < 24 * MIB, `reading raised the daemon's peak RSS by ${mib(peak - afterStore)}`);
  assert.deepEqual(await incompleteUploads(minio), []);
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'spool')), []);
  // Every part the workers read (16 MiB by default) came chunked.
  if (proxy !== null) assert.ok(proxy.chunked > size / (16 * MIB), `the parts were read through the proxy, chunked (${proxy.chunked} answers)`);
}

test('a 300 MB body streamed in stores and reads back with the same sha256, leaving no spool file or incomplete upload', { timeout: 600_000 }, (t) => bigRoundTrip(t, false));

test('the same through a proxy that answers chunked, within the same memory bound', { timeout: 600_000 }, (t) => bigRoundTrip(t, true));

test('ranges of a multipart object read back exactly, up to the last byte; a start past the end is refused', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_PART_BYTES: String(5 * MIB), STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB) } });
  const client = d.client('acme');
  const bytes = jpegBytes(23 * MIB + 333);
  const stored = await client.storePhoto(bytes, { originalName: 'parts.jpg', clientId: 'acme' });
  assert.equal(stored.checksum, sha256(bytes));
  for (const [start, end] of [
    [0, bytes.length - 1],
    [5 * MIB - 1, 5 * MIB],
    [3, 12 * MIB + 5],
    [bytes.length - 1, bytes.length - 1],
  ] as const) {
    const part = await client.readPhoto(stored.id, { start, end });
    const got = Buffer.concat(await part.body.toArray());
    assert.ok(got.equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
  }
  await rejectsWithCode(client.readPhoto(stored.id, { start: bytes.length }), 'RANGE_NOT_SATISFIABLE');
  // The socket's sender gave each part's memory back once written (this daemon runs in this process).
  assert.ok(sparePartSlots() > 0, 'download parts are given back for reuse');
});

test('a wrong caller-supplied sha256 on a spooled body is refused and stores nothing', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB) } });
  const client = d.client('acme');
  const bytes = jpegBytes(40 * MIB);
  const wrong = sha256(Buffer.from('something else'));
  await rejectsWithCode(
    client.storePhoto(bytes, { originalName: 'bad.jpg', clientId: 'acme', sha256: wrong }),
    'CHECKSUM_MISMATCH',
    /nothing was stored/,
  );
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  assert.deepEqual(await allBlobs(minio, d.dataDir), []);
  assert.deepEqual(await incompleteUploads(minio), []);
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, 'spool')), []);
  // The right digest goes through.
  const stored = await client.storePhoto(bytes, { originalName: 'good.jpg', clientId: 'acme', sha256: sha256(bytes) });
  assert.equal(stored.checksum, sha256(bytes));
});

test('concurrent spooled stores on one socket each keep their exact bytes while frame memory is reused', { timeout: 180_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, { env: { STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB) } });
  const client = d.client('acme');
  // Random bodies: a chunk written from memory that another frame already reused would change a digest.
  const bodies = [0, 1, 2, 3].map((n) => jpegBytes(9 * MIB + n * 4099));
  const stored = await Promise.all(bodies.map((bytes, n) => client.storePhoto(bytes, { originalName: `c${n}.jpg`, clientId: 'acme' })));
  for (const [n, photo] of stored.entries()) {
    assert.equal(photo.checksum, sha256(bodies[n]!), `store ${n}`);
    const back = await client.readPhoto(photo.id);
    assert.equal(sha256(Buffer.concat(await back.body.toArray())), photo.checksum, `read ${n}`);
  }
  // The spool gave each frame's memory back once its bytes were in the file (this daemon runs in this process).
  assert.ok(spareFrameSlots() > 0, 'upload frame memory is given back for reuse');
});
