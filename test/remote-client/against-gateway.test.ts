// The remote client against the real gateway, for what only HTTP has: tokens,
// request ids, a gateway or a MinIO that goes away, more calls than
// connections. (Behaviour shared with the sidecar is test/client-contract's.)

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { RemoteClient } from '../../src/remote-client';
import { StorageError } from '../../src/protocol/errors';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startTestDaemon } from '../support/in-process-daemon';
import { startMinio } from '../support/minio-server';

const ID = '00000000-0000-4000-8000-000000000000';

test('remote client on a live gateway', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const token = randomBytes(24).toString('base64url');
  const d = await startTestDaemon(t, minio, { env: { STORAGED_TOKENS: `${token} acme` } });
  const url = d.daemon.httpUrl!;
  const open = (opts: Partial<ConstructorParameters<typeof RemoteClient>[0]> = {}) => {
    const c = new RemoteClient({ url, token, ...opts });
    t.after(() => c.close());
    return c;
  };

  await t.test('an unknown token is UNAUTHORIZED on every call, with the request id', async () => {
    const stranger = open({ token: randomBytes(24).toString('base64url') });
    await assert.rejects(stranger.getPhoto(ID), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(String(err.details?.['requestId']), /^[\w.-]+$/);
      return true;
    });
    await rejectsWithCode(stranger.readPhoto(ID), 'UNAUTHORIZED');
    await rejectsWithCode(stranger.searchPhotos({}), 'UNAUTHORIZED');
    await rejectsWithCode(stranger.storePhoto(Readable.from([pngBytes(300_000)]), { originalName: 'a.png', clientId: 'acme' }), 'UNAUTHORIZED');
    assert.equal((await d.daemon.catalog.countByState()).committed, 0);
  });

  await t.test('without a clientId of its own, the token decides the tenant', async () => {
    const unbound = open();
    const stored = await unbound.storePhoto(pngBytes(2000), { originalName: 'mine.png', clientId: 'acme' });
    assert.equal((await unbound.getPhoto(stored.id)).client_id, 'acme');
  });

  await t.test('more calls than connections queue and all finish; a slow reader gets every byte', async () => {
    const c = open({ connections: 2 });
    const body = pngBytes(3 * 1024 * 1024);
    const { id } = await c.storePhoto(body, { originalName: 'big.png', clientId: 'acme' });
    const answers = await Promise.all(Array.from({ length: 40 }, () => c.getPhoto(id)));
    assert.ok(answers.every((p) => p.id === id));
    const read = await c.readPhoto(id);
    const parts: Buffer[] = [];
    for await (const chunk of read.body) {
      parts.push(chunk as Buffer);
      if (parts.length % 8 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(sha256(Buffer.concat(parts)), sha256(body));
  });

  await t.test('MinIO down: a store is UNAVAILABLE and retryable', async () => {
    const c = open();
    await minio.stop();
    try {
      await assert.rejects(c.storePhoto(pngBytes(2000), { originalName: 'down.png', clientId: 'acme' }), (err: unknown) => {
        assert.equal((err as StorageError).code, 'UNAVAILABLE');
        assert.equal((err as StorageError).retryable, true);
        return true;
      });
    } finally {
      await minio.restart();
    }
  });

  await t.test('the daemon gone: UNAVAILABLE', async () => {
    const c = open();
    await c.searchPhotos({});
    await d.daemon.close();
    await rejectsWithCode(c.searchPhotos({}), 'UNAVAILABLE');
  });
});
