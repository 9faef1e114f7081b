// GET/HEAD /photos/:id/content: ranges (206, 416, suffix, last byte),
// If-None-Match (304), and the headers a browser needs to handle the bytes safely.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { lentSmallPartSlots } from '../../src/daemon/blobs/read-in-parts';
import { contentDisposition } from '../../src/s3/safe-serving';
import { BACKENDS, backendFor } from '../support/backends';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { eventually, startGateway } from './gateway-fixture';

const SIZE = 100_000;

for (const backend of BACKENDS) {
  test(`[${backend}] ranges, conditional requests and HEAD`, { timeout: 60_000 }, async (t) => {
    const g = await startGateway(t, await backendFor(t, backend));
    const bytes = pngBytes(SIZE);
    const stored = await g.json('POST', '/photos?filename=r.png', { body: bytes, headers: { 'content-type': 'image/png' } });
    const path = `/photos/${stored.body.id}/content`;
    const etag = `"${sha256(bytes)}"`;

    const ranges: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, SIZE - 1],
      ['bytes=-500', SIZE - 500, SIZE - 1],
      [`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1],
      [`bytes=${SIZE - 10}-${SIZE + 500}`, SIZE - 10, SIZE - 1],
      [`bytes=-${SIZE * 2}`, 0, SIZE - 1],
    ];
    for (const [header, start, end] of ranges) {
      const res = await g.call('GET', path, { headers: { range: header } });
      assert.equal(res.statusCode, 206, header);
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, header);
      assert.equal(res.headers['content-length'], String(end - start + 1), header);
      assert.equal(res.headers.etag, etag);
      assert.ok(Buffer.from(await res.body.arrayBuffer()).equals(bytes.subarray(start, end + 1)), `bytes of ${header}`);
    }

    for (const header of [`bytes=${SIZE}-`, `bytes=${SIZE + 5}-${SIZE + 10}`, 'bytes=-0', 'bytes=99999999999999999999-']) {
      const res = await g.json('GET', path, { headers: { range: header } });
      assert.equal(res.status, 416, header);
      assert.equal(res.headers['content-range'], `bytes */${SIZE}`, header);
      assert.equal(res.body.error.code, 'RANGE_NOT_SATISFIABLE');
    }

    // Lists of ranges, other units and reversed ranges are served whole.
    for (const header of ['bytes=0-1,5-9', 'items=0-1', 'bytes=50-10', 'bytes=abc']) {
      const res = await g.call('GET', path, { headers: { range: header } });
      assert.equal(res.statusCode, 200, header);
      assert.equal(Buffer.from(await res.body.arrayBuffer()).length, SIZE, header);
    }

    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await g.call('GET', path, { headers: { 'if-none-match': header } });
      assert.equal(res.statusCode, 304, header);
      assert.equal(res.headers.etag, etag);
      assert.equal(await res.body.text(), '');
    }
    const changed = await g.call('GET', path, { headers: { 'if-none-match': '"something-else"', range: 'bytes=-3' } });
    assert.equal(changed.statusCode, 206);
    assert.ok(Buffer.from(await changed.body.arrayBuffer()).equals(bytes.subarray(SIZE - 3)));

    const head = await g.call('HEAD', path);
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(SIZE));
    assert.equal(head.headers['content-type'], 'image/png');
    assert.equal(head.headers['accept-ranges'], 'bytes');
    assert.equal(head.headers['x-content-type-options'], 'nosniff');
    assert.equal(head.headers['content-disposition'], `inline; filename="r.png"; filename*=UTF-8''r.png`);
    assert.equal(await head.body.text(), '');
    const headRange = await g.call('HEAD', path, { headers: { range: 'bytes=10-19' } });
    assert.equal(headRange.statusCode, 206);
    assert.equal(headRange.headers['content-range'], `bytes 10-19/${SIZE}`);
    await headRange.body.text();

    const missing = await g.json('GET', '/photos/00000000-0000-4000-8000-000000000000/content');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
  });
}

test('a download the caller abandons is cut without harming the next requests', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const bytes = pngBytes(8 * 1024 * 1024);
  const stored = await g.json('POST', '/photos?filename=big.png', { body: bytes, headers: { 'content-type': 'image/png' } });
  const res = await g.call('GET', `/photos/${stored.body.id}/content`);
  assert.equal(res.statusCode, 200);
  for await (const _ of res.body) break; // read one chunk, then go away
  const again = await g.call('GET', `/photos/${stored.body.id}/content`, { headers: { range: 'bytes=-4' } });
  assert.ok(Buffer.from(await again.body.arrayBuffer()).equals(bytes.subarray(-4)));
  // The server sees the connection go only after the client closed it: wait for the log line, not a fixed time.
  const abandoned = await eventually(() => g.logs.find((l) => l.msg === 'http request' && l.route === '/photos/:id/content' && l.status === 499));
  assert.equal(abandoned.method, 'GET');
});

test('small photos read through the gateway in one write give their slot back, read to the end or abandoned', { timeout: 60_000 }, async (t) => {
  const minio = await startMinio(t);
  const g = await startGateway(t, minio);
  const bytes = pngBytes(200 * 1024);
  const stored = await g.json('POST', '/photos?filename=small.png', { body: bytes, headers: { 'content-type': 'image/png' } });
  assert.equal(stored.status, 201);
  const lentBefore = lentSmallPartSlots();
  const reads = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const res = await g.call('GET', `/photos/${stored.body.id}/content`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(bytes.length));
      return sha256(Buffer.from(await res.body.arrayBuffer()));
    }),
  );
  assert.deepEqual(new Set(reads), new Set([sha256(bytes)]), 'every download has the exact bytes');
  await eventually(() => (lentSmallPartSlots() === lentBefore ? true : undefined));
  // Callers that go away as soon as the head arrives: the slot still comes back.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const controller = new AbortController();
      const res = await g.call('GET', `/photos/${stored.body.id}/content`, { signal: controller.signal });
      assert.equal(res.statusCode, 200);
      controller.abort();
      await res.body.text().catch(() => undefined);
    }),
  );
  await eventually(() => (lentSmallPartSlots() === lentBefore ? true : undefined));
  const again = await g.call('GET', `/photos/${stored.body.id}/content`);
  assert.equal(sha256(Buffer.from(await again.body.arrayBuffer())), sha256(bytes), 'the daemon serves on');
});

test('Content-Disposition keeps an ASCII fallback and the exact name, quoting nothing dangerous', () => {
  assert.equal(contentDisposition('inline', 'a b.png'), `inline; filename="a b.png"; filename*=UTF-8''a%20b.png`);
  assert.equal(contentDisposition('inline', 'été "x"\\.png'), `inline; filename="_t_ _x__.png"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22%5C.png`);
  assert.equal(contentDisposition('inline', "it's (1).png"), `inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`);
});
