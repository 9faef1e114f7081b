// A request refused before its body is read still gets its answer to Node's
// own HTTP clients: the gateway drains the rest (within bounds) instead of
// closing the connection under a client still sending, which then saw
// `write EPIPE` or ECONNRESET where curl saw the 413.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { pngBytes } from '../support/image-bytes';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { tempDir } from '../support/temp-dir';

const TOKEN = randomBytes(24).toString('base64url');
const BIG = 60 * 1024 * 1024;

/** The daemon in its own process, as a remote caller meets it (in the test's process the race hides). */
async function gateway(t: TestContext) {
  const env = daemonEnv(tempDir(t), null, { STORAGED_TOKENS: `${TOKEN} acme`, STORAGED_MAX_BODY_BYTES: String(1024 * 1024) });
  return `${(await spawnDaemon(t, env)).httpUrl}/photos`;
}

const headers = (token = TOKEN) => ({ authorization: `Bearer ${token}`, 'content-type': 'image/png', 'x-filename': 'big.png' });

function chunked(total: number): Readable {
  const chunk = pngBytes(256 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

// Repeated: with the connection closed under it, the client lost the race in most tries, not all.
const TRIES = 5;

test('fetch sees the 413 of a 60 MB body with a declared length', { timeout: 90_000 }, async (t) => {
  const url = await gateway(t);
  const body = pngBytes(BIG);
  for (let i = 0; i < TRIES; i++) {
    const res = await fetch(url, { method: 'POST', headers: headers(), body });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TOO_LARGE');
  }
});

test('undici sees the 413 of a 60 MB body, declared and chunked', { timeout: 90_000 }, async (t) => {
  const url = await gateway(t);
  const body = pngBytes(BIG);
  for (let i = 0; i < TRIES; i++) {
    const declared = await request(url, { method: 'POST', headers: headers(), body });
    assert.equal(declared.statusCode, 413);
    assert.equal(((await declared.body.json()) as { error: { code: string } }).error.code, 'TOO_LARGE');
  }
  const streamed = await request(url, { method: 'POST', headers: headers(), body: chunked(BIG) });
  assert.equal(streamed.statusCode, 413);
  assert.equal(((await streamed.body.json()) as { error: { code: string } }).error.code, 'TOO_LARGE');
});

test('fetch sees the 401 of a large upload with a wrong token, chunked too', { timeout: 90_000 }, async (t) => {
  const url = await gateway(t);
  const body = pngBytes(BIG);
  for (let i = 0; i < TRIES; i++) {
    const res = await fetch(url, { method: 'POST', headers: headers(randomBytes(24).toString('base64url')), body });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
  }
  const streamed = await fetch(url, {
    method: 'POST',
    headers: headers(randomBytes(24).toString('base64url')),
    body: Readable.toWeb(chunked(20 * 1024 * 1024)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  assert.equal(streamed.status, 401);
});

test('the connection stays usable after a refused body was drained', { timeout: 60_000 }, async (t) => {
  const url = await gateway(t);
  const refused = await request(url, { method: 'POST', headers: headers(), body: pngBytes(4 * 1024 * 1024) });
  assert.equal(refused.statusCode, 413);
  await refused.body.dump();
  const ok = await request(url, { method: 'POST', headers: headers(), body: pngBytes(5000) });
  assert.equal(ok.statusCode, 201);
  await ok.body.dump();
});
