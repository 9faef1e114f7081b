// Requests the gateway must refuse, and what they must leave behind: nothing.
// Oversized bodies with and without Content-Length, oversized JSON, URLs and
// headers, malformed bodies, wrong methods, unknown routes, abandoned uploads.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { FormData } from 'undici';
import { allBlobs } from '../support/blob-presence';
import { BACKENDS, backendFor } from '../support/backends';
import { pngBytes } from '../support/image-bytes';
import { eventually, startGateway, TOKENS, type GatewayFixture } from './gateway-fixture';

const LIMIT = 1024 * 1024;
const LIMITED = { STORAGED_MAX_BODY_BYTES: String(LIMIT), STORAGED_SPOOL_THRESHOLD_BYTES: String(64 * 1024) };

async function* slowly(total: number, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  yield pngBytes(chunk);
  for (let sent = chunk; sent < total; sent += chunk) yield Buffer.alloc(chunk, 1);
}

function spoolFiles(g: GatewayFixture): string[] {
  const dir = path.join(g.dataDir, 'spool');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function assertNothingStored(g: GatewayFixture, minio: Parameters<typeof allBlobs>[0]): Promise<void> {
  assert.deepEqual(await g.daemon.catalog.countByState(), { pending: 0, committed: 0, deleting: 0 });
  assert.deepEqual(await allBlobs(minio, g.dataDir), []);
  assert.deepEqual(spoolFiles(g), []);
}

for (const backend of BACKENDS) {
  test(`[${backend}] oversized bodies answer 413 with and without Content-Length and leave nothing behind`, { timeout: 60_000 }, async (t) => {
    const minio = await backendFor(t, backend);
    const g = await startGateway(t, minio, LIMITED);

    const declared = await g.json('POST', '/photos?filename=big.png', { body: pngBytes(LIMIT + 1), headers: { 'content-type': 'image/png' } });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, 'TOO_LARGE');
    assert.deepEqual(declared.body.error.details, { limit: LIMIT });

    const chunked = await g.json('POST', '/photos?filename=big.png', { body: slowly(4 * LIMIT), headers: { 'content-type': 'image/png' } });
    assert.equal(chunked.status, 413);
    // The rest of the body is drained (early-refusal.test.ts), so the connection is kept for the next request.
    assert.equal(chunked.headers.connection, 'keep-alive');
    assert.match(chunked.body.error.message, /exceeds the limit of 1048576 bytes/);

    const form = new FormData();
    form.append('file', new Blob([pngBytes(LIMIT + 10)], { type: 'image/png' }), 'big.png');
    const viaForm = await g.json('POST', '/photos', { body: form });
    assert.equal(viaForm.status, 413);

    await assertNothingStored(g, minio);
    // The daemon is still fine for everyone.
    assert.equal((await g.json('POST', '/photos?filename=ok.png', { body: pngBytes(LIMIT), headers: { 'content-type': 'image/png' } })).status, 201);
  });
}

test('an upload the caller abandons half-way is rolled back: no row, no blob, no spool file', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null, LIMITED);
  const controller = new AbortController();
  let sent = 0;
  const body = (async function* () {
    yield pngBytes(64 * 1024);
    for (;;) {
      sent++;
      if (sent === 4) controller.abort();
      yield Buffer.alloc(64 * 1024, 2);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await assert.rejects(
    g.call('POST', '/photos?filename=gone.png', { body, headers: { 'content-type': 'image/png' }, signal: controller.signal }),
  );
  await eventually(() => (g.logs.some((l) => l.msg === 'http request' && l.status === 499) ? true : undefined));
  await eventually(() => (spoolFiles(g).length === 0 ? true : undefined));
  await assertNothingStored(g, null);
});

test('JSON uploads and JSON bodies are bounded', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const huge = JSON.stringify({ data: 'A'.repeat(17 * 1024 * 1024), options: { originalName: 'x.png' } });
  const upload = await g.json('POST', '/photos', { body: huge, headers: { 'content-type': 'application/json' } });
  assert.equal(upload.status, 413);
  assert.match(upload.body.error.message, /JSON upload is limited to 16777216 bytes/);
  const search = await g.json('POST', '/photos/search', { body: JSON.stringify({ query: 'x'.repeat(2 * 1024 * 1024) }) });
  assert.equal(search.status, 413);
  assert.equal((await g.daemon.catalog.countByState()).committed, 0);
});

test('malformed requests get a 400 that says what is wrong, and store nothing', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const png = pngBytes(1000);
  const cases: Array<[string, string, Parameters<GatewayFixture['json']>[2], number, RegExp]> = [
    ['POST', '/photos', { body: png, headers: { 'content-type': 'image/png' } }, 400, /filename is required: send it percent-encoded in x-filename/],
    ['POST', '/photos', { body: png, headers: { 'content-type': 'image/png', 'x-filename': '%E0%A4%A' } }, 400, /x-filename is not valid percent-encoded/],
    ['POST', '/photos?filename=a.png', { body: png, headers: { 'content-type': 'image/png', 'x-metadata': '{nope' } }, 400, /x-metadata .* must be a JSON object/],
    ['POST', '/photos?filename=a.png', { body: png, headers: { 'content-type': 'text/plain' } }, 415, /content type text\/plain is not allowed/],
    ['POST', '/photos?filename=a.png', { body: png, headers: { 'content-type': 'image/png', 'x-content-sha256': 'f'.repeat(64) } }, 422, /differs from options.sha256/],
    ['POST', '/photos', { body: '{"data":"@@@","options":{"originalName":"a.png"}}', headers: { 'content-type': 'application/json' } }, 400, /"data" must be the file as a base64 string/],
    ['POST', '/photos', { body: '{"data":"AAAA"', headers: { 'content-type': 'application/json' } }, 400, /not valid JSON/],
    ['POST', '/photos', { body: '{"data":"AAAA","options":{"originalName":"a.png"},"x":1}', headers: { 'content-type': 'application/json' } }, 400, /unknown field "x"/],
    ['POST', '/photos', { body: 'x', headers: { 'content-type': 'multipart/form-data' } }, 400, /needs a boundary/],
    ['POST', '/photos', { body: '--b\r\nContent-Disposition: form-data; name="userId"\r\n\r\nu\r\n--b--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 400, /no file part/],
    ['POST', '/photos', { body: `--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${png.toString('latin1')}\r\n--b\r\nContent-Disposition: form-data; name="userId"\r\n\r\nu\r\n--b--\r\n`, headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 400, /comes after the file/],
    ['POST', '/photos', { body: '--b\r\nContent-Disposition: form-data; name="clientId"\r\n\r\nevil\r\n--b--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 400, /unexpected form field 'clientId'/],
    ['GET', '/photos/not-a-uuid', {}, 404, /not found/],
    ['GET', '/photos/%E0%A4%A', {}, 400, /not valid percent-encoded/],
    ['GET', '/photos/00000000-0000-4000-8000-000000000000?x=1', {}, 400, /unexpected query parameter 'x'/],
    ['GET', '/photos/00000000-0000-4000-8000-000000000000/url?expirySeconds=0', {}, 400, /expirySeconds must be an integer between 1 and 604800/],
    ['GET', '/photos/00000000-0000-4000-8000-000000000000/url?expirySeconds=abc', {}, 400, /expirySeconds must be an integer/],
    ['GET', '/users/u1/photos?limit=abc', {}, 400, /limit/],
    ['GET', '/users/u1/photos?page=2', {}, 400, /unknown query parameter 'page'; allowed: limit, offset, cursor/],
    ['PUT', '/photos/00000000-0000-4000-8000-000000000000/metadata', {}, 400, /body must be a JSON object/],
    ['POST', '/photos/search', { body: '{"sort":{"field":"id; DROP TABLE photos"}}' }, 400, /sort/],
    ['GET', '/nowhere', {}, 404, /no route for GET \/nowhere/],
  ];
  for (const [method, url, opts, status, message] of cases) {
    const res = await g.json(method, url, opts);
    assert.equal(res.status, status, `${method} ${url}: ${JSON.stringify(res.body)}`);
    assert.match(res.body.error.message, message, `${method} ${url}`);
    assert.equal(res.body.error.requestId, res.headers['x-request-id']);
  }
  const wrongMethod = await g.json('PATCH', '/photos/00000000-0000-4000-8000-000000000000');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, 'GET, HEAD, DELETE');
  assert.equal(wrongMethod.body.error.code, 'VALIDATION');
  assert.equal((await g.daemon.catalog.countByState()).committed, 0);
});

test('an over-long URL is 414 and over-large headers 431; neither takes the daemon down', { timeout: 30_000 }, async (t) => {
  const g = await startGateway(t, null);
  const long = await g.json('GET', `/users/${'u'.repeat(9000)}/photos`);
  assert.equal(long.status, 414);
  assert.equal(long.body.error.code, 'VALIDATION');

  const { port } = new URL(g.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET /ready HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.acme}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 431 /);
  assert.match(raw, /"code":"VALIDATION"/);
  assert.equal((await g.json('GET', '/health', { as: null })).status, 200);
});
