// Every validation rule, seen through the real client and daemon: each bad
// store answers a typed error and leaves no row, no object and no spool file.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { allBlobs } from '../support/blob-presence';
import { rejectsWithCode } from '../support/expect-code';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

test('bad stores answer typed errors and leave nothing behind', { timeout: 90_000 }, async (t) => {
  const minio = await startMinio(t);
  const d = await startTestDaemon(t, minio, {
    env: { STORAGED_MAX_BODY_BYTES: String(1024 * 1024), STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * 1024) },
  });
  const c = d.client('acme');
  const png = pngBytes(2048);
  const ok = { originalName: 'fine.png', clientId: 'acme' };

  const cases: Array<[string, () => Promise<unknown>, string, RegExp?]> = [
    ['missing originalName', () => c.storePhoto(png, { clientId: 'acme' } as never), 'VALIDATION', /originalName/],
    ['path in filename', () => c.storePhoto(png, { ...ok, originalName: '../etc/passwd' }), 'VALIDATION', /originalName|filename/],
    ['filename too long', () => c.storePhoto(png, { ...ok, originalName: `${'a'.repeat(300)}.png` }), 'VALIDATION'],
    ['type not allowed', () => c.storePhoto(png, { ...ok, contentType: 'application/pdf' }), 'UNSUPPORTED_TYPE'],
    ['bytes are not an image', () => c.storePhoto(Buffer.from('just some text, not an image'), ok), 'UNSUPPORTED_TYPE'],
    ['declared type differs from bytes', () => c.storePhoto(jpegBytes(2048), { ...ok, contentType: 'image/png' }), 'UNSUPPORTED_TYPE'],
    ['empty body', () => c.storePhoto(Buffer.alloc(0), ok), 'VALIDATION', /empty/],
    ['too large, size known', () => c.storePhoto(pngBytes(2 * 1024 * 1024), ok), 'TOO_LARGE'],
    ['too large, streamed', () => c.storePhoto(Readable.from([pngBytes(600 * 1024), pngBytes(600 * 1024)]), ok), 'TOO_LARGE'],
    ['wrong sha256', () => c.storePhoto(png, { ...ok, sha256: sha256(Buffer.from('other')) }), 'CHECKSUM_MISMATCH'],
    ['malformed sha256', () => c.storePhoto(png, { ...ok, sha256: 'xyz' }), 'VALIDATION'],
    ['unknown option', () => c.storePhoto(png, { ...ok, colour: 'red' } as never), 'VALIDATION'],
    ['metadata not strings', () => c.storePhoto(png, { ...ok, metadata: { n: 1 } as never }), 'VALIDATION'],
    ['bad search sort', () => c.searchPhotos({ sort: { field: 'size; DROP TABLE photos' as never, order: 'asc' } }), 'VALIDATION'],
    ['bad limit', () => c.searchPhotos({ limit: 0 }), 'VALIDATION'],
    ['bad url expiry', () => c.getPhotoUrl('00000000-0000-4000-8000-000000000000', 10 ** 9), 'VALIDATION'],
    ['unknown id', () => c.getPhoto('00000000-0000-4000-8000-000000000000'), 'NOT_FOUND'],
  ];
  for (const [name, run, code, message] of cases) {
    await t.test(name, () => rejectsWithCode(run(), code, message));
  }

  assert.deepEqual(await d.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  assert.deepEqual(await allBlobs(minio, d.dataDir), []);
  // A body refused mid-stream is answered once its spool file is gone (test/integration/too-large-spool.test.ts).
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, 'spool')), []);

  // The daemon still serves after all of that.
  const stored = await c.storePhoto(png, ok);
  assert.equal((await c.getPhoto(stored.id)).size, png.length);
});
