// Body limits per kind (STORAGED_MAX_IMAGE_BYTES, STORAGED_MAX_VIDEO_BYTES)
// through both doors: a declared type's limit refuses an oversized body up
// front (before its bytes, from options.size or Content-Length) or as it
// streams; an undeclared type is held to its sniffed type's limit; a refused
// store leaves nothing behind.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { startGateway } from '../gateway/gateway-fixture';
import { allBlobs } from '../support/blob-presence';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon, type TestDaemon } from '../support/in-process-daemon';

const KIB = 1024;
const IMAGE_LIMIT = 256 * KIB;
const VIDEO_LIMIT = 2048 * KIB;
const ENV = {
  STORAGED_ALLOWED_TYPES: 'image/png,image/jpeg,video/mp4',
  STORAGED_MAX_BODY_BYTES: String(1024 * KIB),
  STORAGED_MAX_IMAGE_BYTES: String(IMAGE_LIMIT),
  STORAGED_MAX_VIDEO_BYTES: String(VIDEO_LIMIT),
  STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * KIB),
};

/** An ISO-BMFF head with brand isom, which the sniffer takes for video/mp4. */
function mp4Bytes(size: number): Buffer {
  const head = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom', 'latin1'), Buffer.alloc(12)]);
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

async function assertOnlyStored(d: TestDaemon, committed: number): Promise<void> {
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed, deleting: 0 });
  assert.equal((await allBlobs(null, d.dataDir)).length, committed);
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, 'spool')), []);
}

test('socket: each kind has its own limit, declared or sniffed', { timeout: 60_000 }, async (t) => {
  const d = await startTestDaemon(t, null, { env: ENV });
  const c = d.client('acme');
  const opts = (name: string, extra: Record<string, unknown> = {}) => ({ originalName: name, clientId: 'acme', ...extra });

  assert.equal((await c.storePhoto(pngBytes(IMAGE_LIMIT), opts('edge.png', { contentType: 'image/png' }))).size, IMAGE_LIMIT);
  const video = await c.storePhoto(mp4Bytes(VIDEO_LIMIT), opts('clip.mp4', { contentType: 'video/mp4' }));
  assert.deepEqual([video.size, video.bucket], [VIDEO_LIMIT, 'videos']);
  // No declared type: the largest limit holds until the bytes say video.
  assert.equal((await c.storePhoto(mp4Bytes(VIDEO_LIMIT), opts('plain.mp4'))).size, VIDEO_LIMIT);

  await rejectsWithCode(
    c.storePhoto(pngBytes(IMAGE_LIMIT + 1), opts('big.png', { contentType: 'image/png' })),
    'TOO_LARGE',
    new RegExp(`exceeds the limit of ${IMAGE_LIMIT} bytes`),
  );
  // A declared size is refused before any byte is taken.
  await rejectsWithCode(
    c.storePhoto(pngBytes(1000), opts('says-big.png', { contentType: 'image/png', size: IMAGE_LIMIT + 1 })),
    'TOO_LARGE',
    new RegExp(`body of ${IMAGE_LIMIT + 1} bytes exceeds the limit of ${IMAGE_LIMIT} bytes for images \\(image/png\\)`),
  );
  // Undeclared, but the bytes are an image: the image limit, not the largest.
  await rejectsWithCode(c.storePhoto(pngBytes(IMAGE_LIMIT + 64 * KIB), opts('sniffed.png')), 'TOO_LARGE', /for images \(image\/png\)/);
  await rejectsWithCode(c.storePhoto(pngBytes(IMAGE_LIMIT + 1), opts('tail.png')), 'TOO_LARGE', /for images/);
  await rejectsWithCode(
    c.storePhoto(mp4Bytes(VIDEO_LIMIT + 1), opts('long.mp4', { contentType: 'video/mp4' })),
    'TOO_LARGE',
    new RegExp(`exceeds the limit of ${VIDEO_LIMIT} bytes`),
  );
  await assertOnlyStored(d, 3);
});

test('gateway: Content-Length over the declared type\'s limit is 413 up front; other kinds keep theirs', { timeout: 60_000 }, async (t) => {
  const g = await startGateway(t, null, ENV);
  const post = (name: string, body: Buffer, type: string) => g.json('POST', `/photos?filename=${name}`, { body, headers: { 'content-type': type } });

  const early = await post('big.png', pngBytes(IMAGE_LIMIT + 1), 'image/png');
  assert.equal(early.status, 413);
  assert.deepEqual(early.body.error.details, { limit: IMAGE_LIMIT });
  // The message of the check on the declared length, made before the body is read.
  assert.match(early.body.error.message, new RegExp(`^body of ${IMAGE_LIMIT + 1} bytes exceeds the limit of ${IMAGE_LIMIT} bytes for images`));

  const sniffed = await post('sniffed.png', pngBytes(IMAGE_LIMIT + 1), 'application/octet-stream');
  assert.equal(sniffed.status, 413);
  assert.deepEqual(sniffed.body.error.details, { limit: IMAGE_LIMIT });

  const longVideo = await post('long.mp4', mp4Bytes(VIDEO_LIMIT + 1), 'video/mp4');
  assert.equal(longVideo.status, 413);
  assert.deepEqual(longVideo.body.error.details, { limit: VIDEO_LIMIT });

  const video = await post('clip.mp4', mp4Bytes(VIDEO_LIMIT), 'video/mp4');
  assert.equal(video.status, 201, JSON.stringify(video.body));
  assert.equal(video.body.bucket, 'videos');
  assert.equal((await post('edge.png', pngBytes(IMAGE_LIMIT), 'image/png')).status, 201);
  await assertOnlyStored(g, 2);
});
