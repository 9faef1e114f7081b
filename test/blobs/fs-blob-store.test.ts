import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../../src/daemon/blobs/fs-blob-store';
import { BlobUrlSigner } from '../../src/daemon/blobs/fs-url-signer';
import { StorageError } from '../../src/protocol/errors';
import { BUCKETS } from '../../src/protocol/types';
import { blobStoreBehaviour } from './blob-store-behaviour';
import { openFsStore, type FsStoreFixture } from './fs-store-fixture';

blobStoreBehaviour('fs', openFsStore);

function expectCode(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

describe('fs blob store specifics', () => {
  let fx: FsStoreFixture;
  before(async () => {
    fx = await openFsStore();
    await fx.store.ensureBuckets(BUCKETS);
  });
  after(() => fx.close());

  it('refuses object names that could leave the root', async () => {
    const bad: Array<[string, string]> = [
      ['images', '../escape.jpg'],
      ['images', '2026/../../escape.jpg'],
      ['images', '/etc/passwd'],
      ['images', 'a//b.jpg'],
      ['images', 'nul\0byte.jpg'],
      ['images', ''],
      ['images', 'x.jpg.0b6c.tmp-upload'],
      ['..', 'x.jpg'],
      ['.hidden', 'x.jpg'],
      ['images/../files', 'x.jpg'],
    ];
    for (const [bucket, key] of bad) {
      await assert.rejects(
        fx.store.put(bucket, key, { buffer: Buffer.from('x') }, 1, 'image/jpeg'),
        expectCode('VALIDATION'),
        `${bucket}/${key}`,
      );
      await assert.rejects(fx.store.stat(bucket, key), expectCode('VALIDATION'));
      await assert.rejects(fx.store.presignedGetUrl(bucket, key, 60), expectCode('VALIDATION'));
    }
    await assert.rejects(fx.store.ensureBuckets(['../up']), expectCode('VALIDATION'));
  });

  it('keeps files 0600 in 0700 directories, named <root>/<bucket>/<key>', async () => {
    await fx.store.put('images', '2031/07/mode.jpg', { buffer: Buffer.from('m') }, 1, 'image/jpeg');
    const file = path.join(fx.root, 'images', '2031', '07', 'mode.jpg');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    for (const dir of ['images', 'images/2031', 'images/2031/07']) {
      assert.equal(fs.statSync(path.join(fx.root, dir)).mode & 0o777, 0o700, dir);
    }
  });

  it('refuses a body whose size differs from the declared one, leaving nothing behind', async () => {
    await assert.rejects(fx.store.put('files', '2026/11/short.bin', { buffer: Buffer.from('abc') }, 4, 'x/y'), expectCode('INTERNAL'));
    assert.equal(await fx.store.stat('files', '2026/11/short.bin'), null);
    assert.deepEqual(fs.readdirSync(path.join(fx.root, 'files', '2026', '11')), []);
  });

  it('a put from a missing spool file rejects and leaves no temp file', async () => {
    await assert.rejects(fx.store.put('files', '2026/12/gone.bin', { path: '/nonexistent/spool' }, 1, 'x/y'));
    assert.deepEqual(fs.readdirSync(path.join(fx.root, 'files', '2026', '12')), []);
  });

  it('hides temp files from list and sweeps only the stale ones', async () => {
    const dir = path.join(fx.root, 'images-large', '2026', '11');
    fs.mkdirSync(dir, { recursive: true });
    const stale = path.join(dir, 'a.jpg.1111.tmp-upload');
    const fresh = path.join(dir, 'b.jpg.2222.tmp-upload');
    fs.writeFileSync(stale, 'half');
    fs.writeFileSync(fresh, 'half');
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(stale, hourAgo, hourAgo);
    await fx.store.put('images-large', '2026/11/done.jpg', { buffer: Buffer.from('whole') }, 5, 'image/jpeg');

    const listed: string[] = [];
    for await (const blob of fx.store.list('images-large')) listed.push(blob.key);
    assert.deepEqual(listed, ['2026/11/done.jpg']);

    const listed2: string[] = [];
    for await (const u of fx.store.incompleteUploads('images-large')) listed2.push(u.key);
    assert.deepEqual(listed2.sort(), ['2026/11/a.jpg', '2026/11/b.jpg']);
    for await (const u of fx.store.incompleteUploads('images-large', '2026/11/b.jpg')) assert.equal(u.uploadId, '2026/11/b.jpg.2222.tmp-upload');
    // By key: only that object's temp files, however young the others.
    assert.equal(await fx.store.abortIncompleteUploads('images-large', 0, '2026/11/c.jpg'), 0);
    assert.equal(fs.existsSync(fresh), true);
    assert.equal(await fx.store.abortIncompleteUploads('images-large', 10 * 60_000), 1);
    assert.equal(fs.existsSync(stale), false);
    assert.equal(fs.existsSync(fresh), true);
    assert.equal(await fx.store.abortIncompleteUploads('images-large', 0), 1);
    assert.equal(fs.existsSync(fresh), false);
    assert.equal((await fx.store.stat('images-large', '2026/11/done.jpg'))?.size, 5);
  });

  it('age 0 aborts an upload whatever its timestamp, even one dated ahead of this clock', async () => {
    const dir = path.join(fx.root, 'images-large', '2026', '12');
    fs.mkdirSync(dir, { recursive: true });
    const ahead = path.join(dir, 'skew.jpg.3333.tmp-upload');
    fs.writeFileSync(ahead, 'half');
    const inAMinute = new Date(Date.now() + 60_000);
    fs.utimesSync(ahead, inAMinute, inAMinute);
    assert.equal(await fx.store.abortIncompleteUploads('images-large', 1000, '2026/12/skew.jpg'), 0, 'not older than a second');
    assert.equal(await fx.store.abortIncompleteUploads('images-large', 0, '2026/12/skew.jpg'), 1);
    assert.equal(fs.existsSync(ahead), false);
  });

  it('lists a bucket that was never created as empty', async () => {
    const seen: string[] = [];
    for await (const blob of fx.store.list('no-such-bucket')) seen.push(blob.key);
    assert.deepEqual(seen, []);
  });

  it('ping fails with UNAVAILABLE when the root is missing', async () => {
    const missing = new FsBlobStore(path.join(fx.root, 'not-there'), new BlobUrlSigner(Buffer.alloc(32), 'http://x'));
    await assert.rejects(missing.ping(), (err: unknown) => {
      expectCode('UNAVAILABLE')(err);
      assert.match((err as Error).message, /not-there is not a writable directory/);
      return true;
    });
  });
});
