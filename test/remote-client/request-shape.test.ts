// What goes on the wire: the gateway contract's headers, paths and query
// strings, read back by a plain HTTP server. The behaviour against the real
// gateway is test/client-contract's; this pins the encoding of awkward values.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteClient } from '../../src/remote-client';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { cannedServer, sendJson } from './canned-server';

const TOKEN = 'tok-0123456789abcdef';
const ID = '00000000-0000-4000-8000-000000000000';

test('storePhoto: options in the STORE_HEADERS, non-ASCII safely encoded, token as Bearer', async (t) => {
  const server = await cannedServer(t, (_req, res) => sendJson(res, 201, { id: ID }));
  const c = new RemoteClient({ url: `${server.url}/base/`, token: TOKEN });
  t.after(() => c.close());
  const body = pngBytes(3000);
  await c.storePhoto(body, {
    originalName: 'Crème brûlée 1.png',
    clientId: 'acme',
    userId: 'jürgen',
    sessionId: 's-1',
    metadata: { album: 'été ☀', n: '1' },
    sha256: 'ab'.repeat(32),
  });
  const [seen] = server.seen;
  assert.equal(seen!.method, 'POST');
  assert.equal(seen!.url, '/base/photos?userId=j%C3%BCrgen');
  assert.equal(seen!.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(seen!.headers['content-type'], 'application/octet-stream');
  assert.equal(seen!.headers['content-length'], '3000');
  assert.equal(decodeURIComponent(String(seen!.headers['x-filename'])), 'Crème brûlée 1.png');
  assert.equal(seen!.headers['x-user-id'], undefined);
  assert.equal(seen!.headers['x-session-id'], 's-1');
  assert.deepEqual(JSON.parse(String(seen!.headers['x-metadata'])), { album: 'été ☀', n: '1' });
  assert.match(String(seen!.headers['x-metadata']), /^[\x20-\x7e]+$/);
  assert.equal(seen!.headers['x-content-sha256'], 'ab'.repeat(32));
  assert.ok(seen!.body.equals(body));
});

test('storePhoto with a stream and options.size sends Content-Length; without it, chunked', async (t) => {
  const server = await cannedServer(t, (_req, res) => sendJson(res, 201, { id: ID }));
  const c = new RemoteClient({ url: server.url, token: TOKEN });
  t.after(() => c.close());
  const body = pngBytes(70_000);
  const pieces = () => [body.subarray(0, 30_000), body.subarray(30_000)];
  await c.storePhoto((async function* () { yield* pieces(); })(), { originalName: 'a.png', clientId: 'acme', contentType: 'image/png', size: body.length });
  await c.storePhoto((async function* () { yield* pieces(); })(), { originalName: 'a.png', clientId: 'acme' });
  assert.equal(server.seen[0]!.headers['content-length'], String(body.length));
  assert.equal(server.seen[0]!.headers['content-type'], 'image/png');
  assert.equal(server.seen[1]!.headers['transfer-encoding'], 'chunked');
  assert.ok(server.seen[1]!.body.equals(body));
});

test('paths, query strings and Range headers of the other calls', async (t) => {
  const server = await cannedServer(t, (req, res) => {
    if (req.url!.includes('/content')) {
      res.writeHead(206, {
        'content-type': 'image/png',
        'content-length': 3,
        'content-range': 'bytes 5-7/100',
        etag: `"${'c'.repeat(64)}"`,
        'content-disposition': `inline; filename="a_b.png"; filename*=UTF-8''%C3%A0%20b.png`,
      });
      res.end('xyz');
    } else if (req.method === 'DELETE') {
      res.writeHead(204).end();
    } else {
      sendJson(res, 200, req.url!.includes('/url') ? { url: 'http://blob', expiresAt: 'x' } : {});
    }
  });
  const c = new RemoteClient({ url: server.url, token: TOKEN });
  t.after(() => c.close());
  assert.equal(await c.getPhotoUrl(ID, 60), 'http://blob');
  await c.getUserPhotos('user/1', { limit: 2, cursor: 'abc=' });
  await c.searchPhotos({ query: 'sunset' });
  await c.updatePhotoMetadata(ID, { width: 3 });
  await c.deletePhoto('a/b');
  const download = await c.readPhoto(ID, { start: 5, end: 7 });
  assert.deepEqual(download.info, {
    id: ID,
    mime_type: 'image/png',
    original_filename: 'à b.png',
    checksum: 'c'.repeat(64),
    size: 100,
    start: 5,
    end: 7,
    length: 3,
  });
  download.body.resume();
  await c.readPhoto(ID, { start: 5 }).then((d) => d.body.resume());

  const calls = server.seen.map((s) => [s.method, s.url, s.headers.range, s.body.toString()].filter((p) => p).join(' '));
  assert.deepEqual(calls, [
    `GET /photos/${ID}/url?expirySeconds=60`,
    'GET /users/user%2F1/photos?limit=2&cursor=abc%3D',
    'POST /photos/search {"query":"sunset"}',
    `PUT /photos/${ID}/metadata {"width":3}`,
    'DELETE /photos/a%2Fb',
    `GET /photos/${ID}/content bytes=5-7`,
    `GET /photos/${ID}/content bytes=5-`,
  ]);
});

test('arguments HTTP would turn into text are refused before a request is made', async (t) => {
  const server = await cannedServer(t, (_req, res) => sendJson(res, 200, {}));
  const c = new RemoteClient({ url: server.url, token: TOKEN, clientId: 'acme' });
  t.after(() => c.close());
  const png = pngBytes(100);
  const ok = { originalName: 'a.png', clientId: 'acme' };
  await rejectsWithCode(c.storePhoto(png, { ...ok, clientId: 'other' }), 'VALIDATION', /differs from this client's clientId/);
  await rejectsWithCode(c.storePhoto(png, { ...ok, userId: 5 as never }), 'VALIDATION', /options.userId must be a string/);
  await rejectsWithCode(c.storePhoto(png, { ...ok, colour: 'red' } as never), 'VALIDATION', /unknown field "colour"/);
  await rejectsWithCode(c.storePhoto(png, { ...ok, size: 99 }), 'VALIDATION', /options.size says 99/);
  await rejectsWithCode(c.storePhoto('text' as never, ok), 'VALIDATION', /Buffer/);
  await rejectsWithCode(c.getPhoto(42 as never), 'VALIDATION', /id must be a photo id string/);
  await rejectsWithCode(c.getPhotoUrl(ID, '60' as never), 'VALIDATION', /expirySeconds/);
  await rejectsWithCode(c.getUserPhotos('', {}), 'VALIDATION', /userId/);
  await rejectsWithCode(c.getUserPhotos('u', { limit: '5' as never }), 'VALIDATION', /limit must be an integer/);
  await rejectsWithCode(c.getUserPhotos('u', { page: 2 } as never), 'VALIDATION', /unknown field "page"/);
  await rejectsWithCode(c.readPhoto(ID, { start: 9, end: 3 }), 'VALIDATION', /range.end \(3\) is before range.start \(9\)/);
  await rejectsWithCode(c.readPhoto(ID, { start: -1 }), 'VALIDATION', /range.start must be a non-negative integer/);
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  await rejectsWithCode(c.searchPhotos(cyclic as never), 'VALIDATION', /cannot be encoded as JSON/);
  assert.equal(server.seen.length, 0);
});

test('store options too large for HTTP headers are refused before a byte is sent, saying what to do', async (t) => {
  const server = await cannedServer(t, (_req, res) => sendJson(res, 201, { id: ID }));
  const c = new RemoteClient({ url: server.url, token: TOKEN });
  t.after(() => c.close());
  const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
  await rejectsWithCode(c.storePhoto(pngBytes(100), { originalName: 'a.png', clientId: 'acme', metadata }), 'VALIDATION', /shorten options.metadata/);
  assert.equal(server.seen.length, 0);
  // Just under the budget still goes out.
  const fits = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
  await c.storePhoto(pngBytes(100), { originalName: 'a.png', clientId: 'acme', metadata: fits });
  assert.equal(server.seen.length, 1);
});
