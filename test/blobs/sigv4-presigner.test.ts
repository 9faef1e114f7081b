import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Minio from 'minio';
import { responseOverrides } from '../../src/s3/safe-serving';
import { SigV4Presigner } from '../../src/s3/sigv4-presigner';

const settings = [
  { endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'AKIA/EXAMPLE+1', secretKey: 's3cr3t/+=', region: 'us-east-1' },
  { endPoint: 'minio.example.com', port: 443, useSSL: true, accessKey: 'ak', secretKey: 'sk', region: 'eu-west-3' },
  { endPoint: 'localhost', port: 80, useSSL: false, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1' },
];
const keys = ['2026/11/0b9a.png', 'dir with space/ümlaut (1)*!.jpg', "a'b~c_d-e.f/g"];
const dates = [new Date('2026-11-29T02:07:26.123Z'), new Date('2026-12-01T23:59:59.999Z')];

for (const s of settings) {
  test(`presigned URLs match minio-js for ${s.endPoint}:${s.port}`, async () => {
    const client = new Minio.Client({ ...s, pathStyle: true });
    const ours = new SigV4Presigner(s);
    for (const date of dates) {
      for (const key of keys) {
        for (const expiry of [1, 3600, 604800]) {
          const theirs = await client.presignedUrl('GET', 'images', key, expiry, {}, date);
          assert.equal(ours.presignGet('images', key, expiry, date), theirs);
        }
      }
    }
  });
}

test('a download URL signs response-content-disposition and response-content-type exactly as minio-js does', async () => {
  const s = settings[0]!;
  const client = new Minio.Client({ ...s, pathStyle: true });
  const ours = new SigV4Presigner(s);
  const overrides = responseOverrides({ filename: 'évil "x" (1).svg', mimeType: 'image/svg+xml' })!;
  for (const date of dates) {
    const theirs = await client.presignedUrl(
      'GET',
      'images',
      keys[0]!,
      600,
      { 'response-content-disposition': overrides.disposition, 'response-content-type': overrides.contentType },
      date,
    );
    // The same signature over the same parameters; only their order in the URL may differ.
    const [a, b] = [new URL(ours.presignGet('images', keys[0]!, 600, date, overrides)), new URL(theirs)];
    assert.equal(a.origin + a.pathname, b.origin + b.pathname);
    assert.deepEqual([...a.searchParams].sort(), [...b.searchParams].sort());
  }
});

test('only types a browser could run get download overrides', () => {
  for (const mimeType of ['image/svg+xml', 'text/html', 'application/xml', 'text/xml', 'application/pdf', 'application/xhtml+xml']) {
    assert.deepEqual(responseOverrides({ filename: 'f', mimeType }), {
      disposition: `attachment; filename="f"; filename*=UTF-8''f`,
      contentType: 'application/octet-stream',
    });
  }
  for (const mimeType of ['image/png', 'image/jpeg', 'video/mp4', 'application/zip']) assert.equal(responseOverrides({ filename: 'f', mimeType }), null);
  assert.equal(responseOverrides(undefined), null);
});

test('virtual-hosted-style presigned URLs match minio-js with pathStyle false', async () => {
  for (const s of settings.slice(1)) {
    const client = new Minio.Client({ ...s, pathStyle: false });
    const ours = new SigV4Presigner({ ...s, pathStyle: false });
    for (const key of keys) {
      const theirs = await client.presignedUrl('GET', 'images', key, 600, {}, dates[0]);
      assert.equal(ours.presignGet('images', key, 600, dates[0]), theirs);
      assert.match(theirs, new RegExp(`^https?://images\\.${s.endPoint}`));
    }
  }
});
