// Every route of the gateway through undici against a real daemon, on both
// blob backends: the three upload forms, reads, updates, search, listing,
// delete, and the operational routes.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormData } from 'undici';
import { BACKENDS, backendFor } from '../support/backends';
import { jpegBytes, pngBytes, sha256 } from '../support/image-bytes';
import { startGateway } from './gateway-fixture';

for (const backend of BACKENDS) {
  test(`[${backend}] the three upload forms store the same way and read back byte for byte`, { timeout: 60_000 }, async (t) => {
    const g = await startGateway(t, await backendFor(t, backend));

    const raw = pngBytes(300_000);
    const stored = await g.json('POST', '/photos', {
      body: raw,
      headers: {
        'content-type': 'image/png',
        'x-filename': encodeURIComponent('beach at_Nice-2.png'),
        'x-user-id': 'user-1',
        'x-session-id': 'sess-1',
        'x-metadata': JSON.stringify({ album: 'holidays' }),
        'x-content-sha256': sha256(raw),
      },
    });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    assert.equal(stored.body.size, raw.length);
    assert.equal(stored.body.checksum, sha256(raw));
    assert.equal(stored.body.processing_status, 'queued');
    const photo = await g.json('GET', `/photos/${stored.body.id}`);
    assert.equal(photo.status, 200);
    assert.equal(photo.body.original_filename, 'beach at_Nice-2.png');
    assert.equal(photo.body.user_id, 'user-1');
    assert.equal(photo.body.session_id, 'sess-1');
    assert.deepEqual(photo.body.metadata, { album: 'holidays' });
    assert.equal(photo.body.client_id, 'acme');

    // Options in the query, body streamed without Content-Length (chunked).
    const streamed = jpegBytes(200_000);
    const viaQuery = await g.json('POST', `/photos?filename=q.jpg&userId=user-2&metadata=${encodeURIComponent('{"k":"v"}')}`, {
      body: (async function* () {
        for (let i = 0; i < streamed.length; i += 65_536) yield streamed.subarray(i, i + 65_536);
      })(),
      headers: { 'content-type': 'image/jpeg' },
    });
    assert.equal(viaQuery.status, 201, JSON.stringify(viaQuery.body));
    assert.equal(viaQuery.body.checksum, sha256(streamed));

    const small = pngBytes(4096);
    const viaJson = await g.json('POST', '/photos', {
      body: JSON.stringify({ data: small.toString('base64'), options: { originalName: 'j.png', contentType: 'image/png', clientId: 'acme', userId: 'user-1' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(viaJson.status, 201, JSON.stringify(viaJson.body));
    assert.equal(viaJson.body.checksum, sha256(small));

    const form = new FormData();
    form.append('userId', 'user-1');
    form.append('metadata', JSON.stringify({ from: 'browser' }));
    form.append('sha256', sha256(small));
    form.append('file', new Blob([small], { type: 'image/png' }), 'from the form.png');
    const viaForm = await g.json('POST', '/photos', { body: form });
    assert.equal(viaForm.status, 201, JSON.stringify(viaForm.body));
    const formPhoto = (await g.json('GET', `/photos/${viaForm.body.id}`)).body;
    assert.equal(formPhoto.original_filename, 'from the form.png');
    assert.deepEqual(formPhoto.metadata, { from: 'browser' });
    assert.equal(formPhoto.mime_type, 'image/png');

    for (const [id, bytes] of [[stored.body.id, raw], [viaQuery.body.id, streamed], [viaForm.body.id, small]] as const) {
      const res = await g.call('GET', `/photos/${id}/content`);
      assert.equal(res.statusCode, 200);
      const body = Buffer.from(await res.body.arrayBuffer());
      assert.ok(body.equals(bytes), 'bytes read back differ');
      assert.equal(res.headers['content-length'], String(bytes.length));
      assert.equal(res.headers.etag, `"${sha256(bytes)}"`);
    }
  });

  test(`[${backend}] metadata, url, search, listing and delete`, { timeout: 60_000 }, async (t) => {
    const g = await startGateway(t, await backendFor(t, backend));
    const ids: string[] = [];
    for (const name of ['sunset-1.png', 'sunset-2.png', 'city.png']) {
      const res = await g.json('POST', `/photos?filename=${name}&userId=u1`, { body: pngBytes(2048), headers: { 'content-type': 'image/png' } });
      assert.equal(res.status, 201);
      ids.push(res.body.id);
    }

    const url = await g.json('GET', `/photos/${ids[0]}/url?expirySeconds=120`);
    assert.equal(url.status, 200);
    const expiresIn = Date.parse(url.body.expiresAt) - Date.now();
    assert.ok(expiresIn > 60_000 && expiresIn <= 120_000, `expiresAt ${url.body.expiresAt}`);
    const fetched = await fetch(url.body.url);
    assert.equal(fetched.status, 200);
    assert.equal((await fetched.arrayBuffer()).byteLength, 2048);

    const updated = await g.json('PUT', `/photos/${ids[0]}/metadata`, {
      body: JSON.stringify({ processing_status: 'in_progress', metadata: { tag: 'x' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.processing_status, 'in_progress');
    const backwards = await g.json('PUT', `/photos/${ids[0]}/metadata`, { body: JSON.stringify({ processing_status: 'queued' }) });
    assert.equal(backwards.status, 409);
    assert.equal(backwards.body.error.code, 'CONFLICT');

    const search = await g.json('POST', '/photos/search', { body: JSON.stringify({ query: 'sunset', sort: { field: 'original_filename', order: 'asc' } }) });
    assert.equal(search.status, 200, JSON.stringify(search.body));
    assert.deepEqual(search.body.photos.map((p: { original_filename: string }) => p.original_filename), ['sunset-1.png', 'sunset-2.png']);
    assert.equal(search.body.total, 2);

    const page1 = await g.json('GET', '/users/u1/photos?limit=2');
    assert.equal(page1.status, 200);
    assert.equal(page1.body.photos.length, 2);
    assert.equal(page1.body.pagination.total, 3);
    assert.equal(page1.body.pagination.hasMore, true);
    const page2 = await g.json('GET', `/users/u1/photos?limit=2&cursor=${encodeURIComponent(page1.body.pagination.nextCursor)}`);
    assert.equal(page2.body.photos.length, 1);
    const seen = [...page1.body.photos, ...page2.body.photos].map((p: { id: string }) => p.id).sort();
    assert.deepEqual(seen, [...ids].sort());
    const byOffset = await g.json('GET', '/users/u1/photos?limit=1&offset=2');
    assert.equal(byOffset.body.photos[0].id, page2.body.photos[0].id);

    const deleted = await g.call('DELETE', `/photos/${ids[1]}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal(await deleted.body.text(), '');
    assert.equal((await g.json('GET', `/photos/${ids[1]}`)).status, 404);
    assert.equal((await g.json('DELETE', `/photos/${ids[1]}`)).status, 404);
    assert.equal((await g.json('POST', '/photos/search', { body: '{}' })).body.total, 2);
  });
}

test('health needs no token; ready, metrics and openapi answer', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const health = await g.json('GET', '/health', { as: null });
  assert.deepEqual([health.status, health.body], [200, { status: 'ok' }]);
  const ready = await g.json('GET', '/ready', { as: 'admin' });
  assert.deepEqual([ready.status, ready.body], [
    200,
    { status: 'ready', checks: { sqlite: 'ok', blobs: 'ok' }, details: { backup: { intervalSeconds: 3600, lastSuccess: null, lastFailure: null } } },
  ]);
  const tenantReady = await g.json('GET', '/ready');
  assert.deepEqual([tenantReady.status, tenantReady.body], [200, { status: 'ready', checks: { sqlite: 'ok', blobs: 'ok' } }]);
  const openapi = await g.json('GET', '/openapi.json');
  assert.equal(openapi.status, 200);
  assert.match(openapi.body.openapi, /^3\.1/);

  assert.equal((await g.json('POST', '/photos?filename=m.png', { body: pngBytes(5000), headers: { 'content-type': 'image/png' } })).status, 201);
  assert.equal((await g.json('GET', '/photos/00000000-0000-4000-8000-000000000000')).status, 404);
  const metrics = await g.call('GET', '/metrics', { as: 'admin' });
  assert.equal(metrics.statusCode, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = await metrics.body.text();
  assert.match(text, /^photos_stored_total\{bucket="images"\} 1$/m);
  assert.match(text, /^photo_size_bytes_bucket\{bucket="images",le="16384"\} 1$/m);
  assert.match(text, /^photo_upload_duration_seconds_count 1$/m);
  assert.match(text, /^http_requests_total\{route="\/photos",method="POST",status="201"\} 1$/m);
  assert.match(text, /^http_requests_total\{route="\/photos\/:id",method="GET",status="404"\} 1$/m);
  assert.match(text, /^http_request_duration_seconds_count\{route="\/photos",method="POST"\} 1$/m);
  // Runtime gauges: the event loop and the worker pool.
  assert.match(text, /^storaged_eventloop_delay_p99_ms [0-9.]+$/m);
  assert.match(text, /^storaged_worker_threads [1-9][0-9]*$/m);
  assert.match(text, /^storaged_worker_queue_depth [0-9]+$/m);
  // Every sample line parses as `name{labels} value`.
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_][a-z0-9_]*(\{[^}]*\})? [0-9.e+-]+$/, line);
  }
});
