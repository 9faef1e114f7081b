// What users upload cannot run in a browser: an SVG (allowed by the operator,
// as the default list no longer does) is served as a download from its URL on
// MinIO and on the local backend alike, and from the gateway; a URL whose
// download parameters are stripped is refused; a PNG stays inline.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { pngBytes } from '../support/image-bytes';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';

const TOKEN = randomBytes(24).toString('base64url');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>');

async function serving(t: TestContext, minio: MinioHandle | null) {
  const env = daemonEnv(tempDir(t), minio, {
    STORAGED_ALLOWED_TYPES: 'image/png,image/svg+xml',
    STORAGED_TOKENS: `${TOKEN} acme`,
  });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', token: TOKEN });
  t.after(() => client.close());
  const svg = await client.storePhoto(SVG, { originalName: 'drawing 1.svg', clientId: 'acme', contentType: 'image/svg+xml' });
  const png = await client.storePhoto(pngBytes(2000), { originalName: 'photo.png', clientId: 'acme' });

  for (const url of [svg.s3_url, await client.getPhotoUrl(svg.id, 300), (await client.getPhoto(svg.id)).s3_url]) {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="drawing 1.svg"; filename*=UTF-8''drawing%201.svg`);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), SVG);
  }
  const stripped = new URL(svg.s3_url);
  stripped.searchParams.delete('response-content-disposition');
  stripped.searchParams.delete('response-content-type');
  const refused = await fetch(stripped);
  assert.equal(refused.status, 403, 'the download parameters are signed: a URL without them is refused');
  await refused.arrayBuffer();

  const inline = await fetch(png.s3_url);
  assert.equal(inline.headers.get('content-type'), 'image/png');
  assert.equal(inline.headers.get('content-disposition'), null);
  await inline.arrayBuffer();

  const gateway = await fetch(`${daemon.httpUrl}/photos/${svg.id}/content`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.match(gateway.headers.get('content-disposition')!, /^attachment; /);
  assert.match(gateway.headers.get('content-security-policy')!, /sandbox/);
  assert.equal(gateway.headers.get('x-content-type-options'), 'nosniff');
  await gateway.arrayBuffer();
}

test('an SVG is served as a download from a presigned MinIO URL', { timeout: 60_000 }, async (t) => serving(t, await startMinio(t)));

test('an SVG is served as a download from the local backend\'s signed URL', { timeout: 60_000 }, (t) => serving(t, null));
