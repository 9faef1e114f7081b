// getPhoto answers are made once per photo per second and shared (see
// src/daemon/coordinator/photo-answers.ts). These pin what that must not
// change: a write is seen at once, the expiry is never later than the URL's,
// and the URL still works.

import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKENDS, backendFor } from '../support/backends';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';

/** When the URL stops working, read from the URL itself (SigV4 or the local signer's form). */
function urlExpiryMs(url: string): number {
  const query = new URL(url).searchParams;
  const local = query.get('expires');
  if (local !== null) return Number(local) * 1000;
  const date = query.get('X-Amz-Date')!;
  const iso = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`;
  return Date.parse(iso) + Number(query.get('X-Amz-Expires')) * 1000;
}

for (const backend of BACKENDS) {
  describe(`getPhoto answers on the ${backend} backend`, { timeout: 120_000 }, () => {
    test('an update within the same second shows in the next getPhoto', async (t) => {
      const minio = await backendFor(t, backend);
      const d = await startTestDaemon(t, minio);
      const client = d.client('acme');
      const stored = await client.storePhoto(pngBytes(2048), { originalName: 'a.png', clientId: 'acme', metadata: { v: '1' } });
      // Many rounds, so that some update lands in the second its photo's answer was made.
      for (let round = 2; round < 40; round++) {
        const before = await client.getPhoto(stored.id);
        await client.updatePhotoMetadata(stored.id, { metadata: { v: String(round) } });
        const after = await client.getPhoto(stored.id);
        assert.deepEqual(after.metadata, { v: String(round) }, `round ${round}`);
        assert.notDeepEqual(before.metadata, after.metadata);
      }
      await client.deletePhoto(stored.id);
      await assert.rejects(client.getPhoto(stored.id), { code: 'NOT_FOUND' });
    });

    test('the expiry given is never later than the URL expiry, and the URL works', async (t) => {
      const minio = await backendFor(t, backend);
      const d = await startTestDaemon(t, minio);
      const client = d.client('acme');
      const body = pngBytes(4096);
      const stored = await client.storePhoto(body, { originalName: 'b.png', clientId: 'acme' });
      const answers = await Promise.all(Array.from({ length: 50 }, () => client.getPhoto(stored.id)));
      for (const answer of answers) {
        const expires = Date.parse(answer.url_expires_at);
        assert.ok(expires <= urlExpiryMs(answer.s3_url), `${answer.url_expires_at} is after the URL's own expiry`);
        assert.ok(expires > Date.now() + 3590_000, 'about an hour from now');
      }
      // Answers made within one second share their URL; there are at most a couple of distinct ones.
      assert.ok(new Set(answers.map((a) => a.s3_url)).size <= 3);
      const fetched = await fetch(answers[answers.length - 1]!.s3_url);
      assert.equal(fetched.status, 200);
      assert.equal(sha256(Buffer.from(await fetched.arrayBuffer())), sha256(body));
    });

    test('a shared answer cannot be changed by one caller for the others', async (t) => {
      const minio = await backendFor(t, backend);
      const d = await startTestDaemon(t, minio);
      const stored = await d.client('acme').storePhoto(pngBytes(1024), { originalName: 'c.png', clientId: 'acme', metadata: { k: 'v' } });
      const ctx = { clientId: 'acme', signal: new AbortController().signal };
      const first = await d.daemon.coordinator.getPhoto(ctx, stored.id);
      assert.ok(Object.isFrozen(first) && Object.isFrozen(first.metadata));
      assert.throws(() => {
        (first.metadata as Record<string, string>).k = 'changed';
      }, TypeError);
      assert.deepEqual((await d.daemon.coordinator.getPhoto(ctx, stored.id)).metadata, { k: 'v' });
    });
  });
}
