// Documents beside photos, against real MinIO: a PDF is refused under the
// default whitelist; allowed by STORAGED_ALLOWED_TYPES it lands in `files`,
// and STORAGED_MAX_FILE_BYTES limits it on both doors (socket and gateway),
// up front from a declared size and while the bytes arrive, where an image
// of the same size passes under its own limit.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { startGateway } from '../gateway/gateway-fixture';
import { allBlobs } from '../support/blob-presence';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes, sha256 } from '../support/image-bytes';
import type { TestDaemon } from '../support/in-process-daemon';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { pdfHead } from '../validation/file-fixtures';

const KIB = 1024;
const FILE_LIMIT = 256 * KIB;
const IMAGE_LIMIT = 1024 * KIB;
const ALLOWING_PDF = {
  STORAGED_ALLOWED_TYPES: 'image/png,application/pdf',
  STORAGED_MAX_BODY_BYTES: String(IMAGE_LIMIT),
  STORAGED_MAX_FILE_BYTES: String(FILE_LIMIT),
  // Bodies past this are spooled: the limit holds on that path too.
  STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * KIB),
};

function pdfBytes(size: number): Buffer {
  const head = pdfHead();
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

async function assertOnlyStored(minio: MinioHandle, d: TestDaemon, expected: string[]): Promise<void> {
  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: expected.length, deleting: 0 });
  assert.deepEqual((await allBlobs(minio, d.dataDir)).sort(), [...expected].sort());
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, 'spool')), []);
}

test('default whitelist: a PDF is UNSUPPORTED_TYPE on both doors, declared or not', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio);
  const c = g.client('acme');
  const pdf = pdfBytes(10 * KIB);

  await rejectsWithCode(c.storePhoto(pdf, { originalName: 'a.pdf', clientId: 'acme' }), 'UNSUPPORTED_TYPE', /the bytes are application\/pdf, which is not allowed/);
  await rejectsWithCode(
    c.storePhoto(pdf, { originalName: 'a.pdf', clientId: 'acme', contentType: 'application/pdf' }),
    'UNSUPPORTED_TYPE',
    /content type application\/pdf is not allowed/,
  );
  for (const type of ['application/pdf', 'application/octet-stream']) {
    const res = await g.json('POST', '/photos?filename=a.pdf', { body: pdf, headers: { 'content-type': type } });
    assert.equal(res.status, 415, type);
    assert.equal(res.body.error.code, 'UNSUPPORTED_TYPE');
  }
  await assertOnlyStored(minio, g, []);
});

test('socket: an allowed PDF goes to `files`, held to STORAGED_MAX_FILE_BYTES; a PNG of the same size is not', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startGateway(t, minio, ALLOWING_PDF);
  const c = d.client('acme');
  const opts = (name: string, extra: Record<string, unknown> = {}) => ({ originalName: name, clientId: 'acme', ...extra });

  const edge = pdfBytes(FILE_LIMIT);
  const declared = await c.storePhoto(edge, opts('edge.pdf', { contentType: 'application/pdf' }));
  assert.deepEqual([declared.bucket, declared.size, declared.checksum], ['files', FILE_LIMIT, sha256(edge)]);
  assert.equal((await minio.client.statObject('files', declared.s3_key)).size, FILE_LIMIT);
  assert.equal((await c.getPhoto(declared.id)).mime_type, 'application/pdf');
  // No declared type: the bytes say PDF.
  const sniffed = await c.storePhoto(Readable.from([pdfBytes(FILE_LIMIT)]), opts('sniffed.pdf'));
  assert.equal(sniffed.bucket, 'files');

  // The size the client declares (a Buffer's length) is refused before the body.
  await rejectsWithCode(
    c.storePhoto(pdfBytes(FILE_LIMIT + 1), opts('big.pdf', { contentType: 'application/pdf' })),
    'TOO_LARGE',
    new RegExp(`^body of ${FILE_LIMIT + 1} bytes exceeds the limit of ${FILE_LIMIT} bytes for files \\(application/pdf\\)$`),
  );
  // A stream of unknown length: refused as it passes the limit.
  await rejectsWithCode(
    c.storePhoto(Readable.from([pdfBytes(FILE_LIMIT + 1)]), opts('stream.pdf', { contentType: 'application/pdf' })),
    'TOO_LARGE',
    new RegExp(`exceeds the limit of ${FILE_LIMIT} bytes for files \\(application/pdf\\)$`),
  );
  // Undeclared: the largest limit holds until the head is sniffed, then the file limit.
  await rejectsWithCode(c.storePhoto(Readable.from([pdfBytes(FILE_LIMIT + 64 * KIB)]), opts('undeclared.pdf')), 'TOO_LARGE', /for files \(application\/pdf\)/);
  // The same size as an image is within the image limit.
  const png = await c.storePhoto(pngBytes(FILE_LIMIT + 64 * KIB), opts('same-size.png'));
  assert.deepEqual([png.bucket, png.size], ['images', FILE_LIMIT + 64 * KIB]);

  await assertOnlyStored(minio, d, [`files/${declared.s3_key}`, `files/${sniffed.s3_key}`, `images/${png.s3_key}`]);
});

test('gateway: an allowed PDF goes to `files`; over STORAGED_MAX_FILE_BYTES it is 413, up front or streamed', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio, ALLOWING_PDF);
  const post = (name: string, body: Buffer | AsyncIterable<Uint8Array>, type: string) =>
    g.json('POST', `/photos?filename=${name}`, { body, headers: { 'content-type': type } });

  const stored = await post('edge.pdf', pdfBytes(FILE_LIMIT), 'application/pdf');
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  assert.deepEqual([stored.body.bucket, stored.body.size], ['files', FILE_LIMIT]);

  // Content-Length over the declared type's limit: refused before the body is read.
  const early = await post('big.pdf', pdfBytes(FILE_LIMIT + 1), 'application/pdf');
  assert.equal(early.status, 413);
  assert.equal(early.body.error.code, 'TOO_LARGE');
  assert.deepEqual(early.body.error.details, { limit: FILE_LIMIT });
  assert.match(early.body.error.message, new RegExp(`^body of ${FILE_LIMIT + 1} bytes exceeds the limit of ${FILE_LIMIT} bytes for files \\(application/pdf\\)`));

  // Chunked, no length: refused while the bytes arrive.
  const chunked = await post('chunked.pdf', Readable.from([pdfBytes(FILE_LIMIT), randomBytes(64 * KIB)]), 'application/pdf');
  assert.equal(chunked.status, 413);
  assert.match(chunked.body.error.message, new RegExp(`exceeds the limit of ${FILE_LIMIT} bytes for files \\(application/pdf\\)`));

  // Sent as octet-stream: the sniffed type's limit.
  const sniffed = await post('sniffed.pdf', pdfBytes(FILE_LIMIT + 1), 'application/octet-stream');
  assert.equal(sniffed.status, 413);
  assert.deepEqual(sniffed.body.error.details, { limit: FILE_LIMIT });
  assert.match(sniffed.body.error.message, /for files \(application\/pdf\)/);

  const png = await post('same-size.png', pngBytes(FILE_LIMIT + 1), 'image/png');
  assert.equal(png.status, 201, JSON.stringify(png.body));
  assert.equal(png.body.bucket, 'images');

  await assertOnlyStored(minio, g, [`files/${stored.body.s3_key}`, `images/${png.body.s3_key}`]);
});
