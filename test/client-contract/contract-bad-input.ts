// Bad calls get the same typed error codes on every transport, and store
// nothing: no row, no spool file left behind.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { rejectsWithCode } from '../support/expect-code';
import { waitFor } from '../support/wait-for';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import type { ContractCheck } from './client-contract';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

export const badInputChecks: Record<string, ContractCheck> = {
  'bad calls answer the same typed errors and store nothing': async (t, env) => {
    const c = env.client('acme');
    const png = pngBytes(2048);
    const ok = { originalName: 'fine.png', clientId: 'acme' };
    const big = 5 * 1024 * 1024;
    // A real photo, for the checks that come after the lookup (a bad range of an unknown id is simply NOT_FOUND).
    const existing = await c.storePhoto(png, ok);
    const before = await env.daemon.daemon.catalog.countByState();

    const cases: Array<[string, () => Promise<unknown>, string, RegExp?]> = [
      ['missing originalName', () => c.storePhoto(png, { clientId: 'acme' } as never), 'VALIDATION', /originalName/],
      ['path in filename', () => c.storePhoto(png, { ...ok, originalName: '../etc/passwd' }), 'VALIDATION', /originalName/],
      ['filename too long', () => c.storePhoto(png, { ...ok, originalName: `${'a'.repeat(300)}.png` }), 'VALIDATION'],
      ['missing clientId', () => c.storePhoto(png, { originalName: 'a.png' } as never), 'VALIDATION', /clientId/],
      ['type not allowed', () => c.storePhoto(png, { ...ok, contentType: 'application/pdf' }), 'UNSUPPORTED_TYPE'],
      ['JSON declared as the type', () => c.storePhoto(png, { ...ok, contentType: 'application/json' }), 'UNSUPPORTED_TYPE'],
      ['a form declared as the type', () => c.storePhoto(png, { ...ok, contentType: 'multipart/form-data; boundary=x' }), 'UNSUPPORTED_TYPE'],
      ['bytes are not an image', () => c.storePhoto(Buffer.from('just some text, not an image'), ok), 'UNSUPPORTED_TYPE'],
      ['declared type differs from bytes', () => c.storePhoto(jpegBytes(2048), { ...ok, contentType: 'image/png' }), 'UNSUPPORTED_TYPE'],
      ['empty body', () => c.storePhoto(Buffer.alloc(0), ok), 'VALIDATION', /empty/],
      ['too large, size known', () => c.storePhoto(pngBytes(big), ok), 'TOO_LARGE'],
      ['too large, streamed', () => c.storePhoto(Readable.from([pngBytes(big / 2), pngBytes(big / 2)]), ok), 'TOO_LARGE'],
      ['size option disagrees with the stream', () => c.storePhoto(Readable.from([png]), { ...ok, size: png.length + 1 }), 'VALIDATION'],
      ['wrong sha256', () => c.storePhoto(png, { ...ok, sha256: sha256(Buffer.from('other')) }), 'CHECKSUM_MISMATCH'],
      ['malformed sha256', () => c.storePhoto(png, { ...ok, sha256: 'xyz' }), 'VALIDATION'],
      ['unknown option', () => c.storePhoto(png, { ...ok, colour: 'red' } as never), 'VALIDATION'],
      ['metadata not strings', () => c.storePhoto(png, { ...ok, metadata: { n: 1 } as never }), 'VALIDATION'],
      ['userId not a string', () => c.storePhoto(png, { ...ok, userId: 42 as never }), 'VALIDATION'],
      ['data neither bytes nor stream', () => c.storePhoto(12 as never, ok), 'VALIDATION'],
      ['bad search sort', () => c.searchPhotos({ sort: { field: 'size; DROP TABLE photos' as never, order: 'asc' } }), 'VALIDATION'],
      ['bad search limit', () => c.searchPhotos({ limit: 0 }), 'VALIDATION'],
      ['unknown search field', () => c.searchPhotos({ colour: 'red' } as never), 'VALIDATION'],
      ['bad date range', () => c.searchPhotos({ filters: { date_range: { start: 'yesterday' } } }), 'VALIDATION'],
      ['cursor with offset', () => c.getUserPhotos('u1', { cursor: 'abc', offset: 3 }), 'VALIDATION', /cursor/],
      ['malformed cursor', () => c.getUserPhotos('u1', { cursor: 'not-a-cursor' }), 'VALIDATION'],
      ['limit as a string', () => c.getUserPhotos('u1', { limit: '5' as never }), 'VALIDATION'],
      ['unknown page option', () => c.getUserPhotos('u1', { page: 2 } as never), 'VALIDATION'],
      ['url expiry too long', () => c.getPhotoUrl(UNKNOWN_ID, 10 ** 9), 'VALIDATION', /expirySeconds/],
      ['url expiry not an integer', () => c.getPhotoUrl(UNKNOWN_ID, 1.5), 'VALIDATION', /expirySeconds/],
      ['unknown patch field', () => c.updatePhotoMetadata(UNKNOWN_ID, { colour: 'red' } as never), 'VALIDATION'],
      ['id not a string', () => c.getPhoto(7 as never), 'VALIDATION', /id/],
      ['unknown id', () => c.getPhoto(UNKNOWN_ID), 'NOT_FOUND'],
      ['id that cannot be one of ours', () => c.getPhoto('not-a-uuid'), 'NOT_FOUND'],
      ['id with a slash', () => c.getPhoto('a/b'), 'NOT_FOUND'],
      ['unknown id, read', () => c.readPhoto(UNKNOWN_ID), 'NOT_FOUND'],
      ['range with an unknown field', () => c.readPhoto(existing.id, { from: 1 } as never), 'VALIDATION', /range/],
      ['range end as a string', () => c.readPhoto(existing.id, { end: '9' } as never), 'VALIDATION', /range.end/],
      ['bad patch value', () => c.updatePhotoMetadata(existing.id, { processing_status: 'exploded' } as never), 'VALIDATION'],
    ];
    for (const [name, run, code, message] of cases) {
      await t.test(name, () => rejectsWithCode(run(), code, message));
    }

    assert.deepEqual(await env.daemon.daemon.catalog.countByState(), before);
    // A body refused mid-stream is answered at once (so the client stops sending) while the store, aborted,
    // removes its spool file a moment later: wait for that, bounded, rather than race it.
    const spool = path.join(env.daemon.dataDir, 'spool');
    await waitFor(() => fs.readdirSync(spool).length === 0, 'the spool directory to be emptied', 10_000);
    // The transport is still usable after all of that.
    const stored = await c.storePhoto(png, ok);
    assert.equal((await c.getPhoto(stored.id)).size, png.length);
  },
};
