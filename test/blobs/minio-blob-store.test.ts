import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { MinioBlobStore } from '../../src/daemon/blobs/minio-blob-store';
import { StorageError } from '../../src/protocol/errors';
import { BUCKETS } from '../../src/protocol/types';
import { startMinio, type MinioHandle } from '../support/minio-server';
import { blobStoreBehaviour } from './blob-store-behaviour';

const silent = pino({ level: 'silent' });

function storeFor(minio: MinioHandle): MinioBlobStore {
  const { endPoint, port, useSSL, accessKey, secretKey } = minio;
  return new MinioBlobStore({ endPoint, port, useSSL, accessKey, secretKey }, silent);
}

blobStoreBehaviour('minio', async () => {
  const minio = await startMinio();
  return { store: storeFor(minio), close: () => minio.dispose() };
});

describe('minio blob store specifics', () => {
  let minio: MinioHandle;
  let store: MinioBlobStore;
  before(async () => {
    minio = await startMinio();
    store = storeFor(minio);
    await store.ensureBuckets(BUCKETS);
  });
  after(() => minio.dispose());

  it('keeps the Content-Type it was given', async () => {
    await store.put('files', '2026/11/typed.bin', { buffer: Buffer.from('{}') }, 2, 'application/json');
    const info = await minio.client.statObject('files', '2026/11/typed.bin');
    assert.equal(info.metaData['content-type'], 'application/json');
  });

  it('MinIO refuses a body whose bytes do not match the digest the daemon sends, and stores nothing', async () => {
    const body = randomBytes(4096);
    const digestOfOther = createHash('sha256').update('other bytes').digest('hex');
    await assert.rejects(store.put('images', '2026/11/corrupt.jpg', { buffer: body }, body.length, 'image/jpeg', digestOfOther));
    assert.equal(await store.stat('images', '2026/11/corrupt.jpg'), null);
    const rightDigest = createHash('sha256').update(body).digest('hex');
    await store.put('images', '2026/11/intact.jpg', { buffer: body }, body.length, 'image/jpeg', rightDigest);
    assert.equal((await store.stat('images', '2026/11/intact.jpg'))?.size, body.length);
  });

  it('aborts incomplete multipart uploads older than the given age, and only those', async () => {
    const uploadId = await minio.client.initiateNewMultipartUpload('images-large', '2026/11/abandoned.jpg', {});
    assert.ok(uploadId);
    const pending = async () => {
      const found: string[] = [];
      for await (const u of minio.client.listIncompleteUploads('images-large', '', true)) found.push(u.key);
      return found;
    };
    assert.deepEqual(await pending(), ['2026/11/abandoned.jpg']);
    const listed: Array<[string, string]> = [];
    for await (const u of store.incompleteUploads('images-large')) listed.push([u.key, u.uploadId]);
    for await (const u of store.incompleteUploads('images-large', '2026/11/abandoned')) listed.push([u.key, u.uploadId]);
    assert.deepEqual(listed, [['2026/11/abandoned.jpg', uploadId]], 'by key means that exact key, not a prefix');
    assert.equal(await store.abortIncompleteUploads('images-large', 60 * 60_000), 0, 'a fresh upload is left alone');
    assert.deepEqual(await pending(), ['2026/11/abandoned.jpg']);
    // MinIO records the start with second precision: wait so that "older than 0 ms" surely holds.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await store.abortIncompleteUploads('images-large', 0), 1);
    assert.deepEqual(await pending(), []);
  });

  it('refuses with UNAVAILABLE while MinIO is down, without naming the credentials, and recovers', async () => {
    const key = '2026/11/survivor.jpg';
    const body = randomBytes(2048);
    await store.put('images', key, { buffer: body }, body.length, 'image/jpeg');
    await minio.stop();
    try {
      const unavailable = (err: unknown) => {
        assert.ok(err instanceof StorageError, String(err));
        assert.equal(err.code, 'UNAVAILABLE');
        assert.equal(err.retryable, true);
        assert.match(err.message, new RegExp(`^MinIO at 127\\.0\\.0\\.1:${minio.port} is unreachable: `));
        assert.ok(!err.message.includes(minio.secretKey) && !err.message.includes(minio.accessKey), err.message);
        return true;
      };
      await assert.rejects(store.ping(), unavailable);
      await assert.rejects(store.put('images', '2026/11/lost.jpg', { buffer: body }, body.length, 'image/jpeg'), unavailable);
      await assert.rejects(store.stat('images', key), unavailable);
      await assert.rejects(store.read('images', key), unavailable);
      await assert.rejects(store.remove('images', key), unavailable);
      await assert.rejects(store.abortIncompleteUploads('images', 0), unavailable);
      await assert.rejects(async () => {
        for await (const blob of store.list('images')) void blob;
      }, unavailable);
      // Signing is local: a URL can still be made, it just will not fetch until MinIO is back.
      assert.match(await store.presignedGetUrl('images', key, 60), /X-Amz-Signature=/);
    } finally {
      await minio.restart();
    }
    await store.ping();
    assert.equal((await store.stat('images', key))?.size, body.length);
  });

  it('ensureBuckets tolerates another creator racing it', async () => {
    const other = storeFor(minio);
    await Promise.all([store.ensureBuckets(['race-bucket']), other.ensureBuckets(['race-bucket'])]);
    assert.equal(await minio.client.bucketExists('race-bucket'), true);
  });

  it('a wrong secret key is not reported as UNAVAILABLE', async () => {
    const wrong = new MinioBlobStore(
      { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: 'not-the-secret' },
      silent,
    );
    await assert.rejects(wrong.ping(), (err: unknown) => {
      assert.notEqual((err as { code?: unknown }).code, 'UNAVAILABLE');
      return true;
    });
  });

  it('a put or read on a server that goes silent fails with UNAVAILABLE instead of hanging', async () => {
    const sockets = new Set<net.Socket>();
    const silentServer = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // swallow the request, never answer
    });
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const { port } = silentServer.address() as net.AddressInfo;
    try {
      const hung = new MinioBlobStore({ endPoint: '127.0.0.1', port, useSSL: false, accessKey: 'a', secretKey: 'b', idleTimeoutMs: 300 }, silent);
      const body = randomBytes(1024);
      const unavailable = (err: unknown) => {
        assert.equal((err as StorageError).code, 'UNAVAILABLE');
        assert.match((err as Error).message, /ETIMEDOUT/);
        return true;
      };
      await assert.rejects(hung.put('images', '2026/11/h.jpg', { buffer: body }, body.length, 'image/jpeg'), unavailable);
      await assert.rejects(hung.read('images', '2026/11/h.jpg'), unavailable);
    } finally {
      for (const socket of sockets) socket.destroy();
      silentServer.close();
    }
  });

  it('ping gives up with UNAVAILABLE on a server that accepts but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silentServer = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const { port } = silentServer.address() as net.AddressInfo;
    try {
      const hung = new MinioBlobStore({ endPoint: '127.0.0.1', port, useSSL: false, accessKey: 'a', secretKey: 'b' }, silent);
      await assert.rejects(hung.ping(), (err: unknown) => {
        assert.equal((err as StorageError).code, 'UNAVAILABLE');
        assert.match((err as Error).message, /no answer within \d+ ms/);
        return true;
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      silentServer.close();
    }
  });
});
