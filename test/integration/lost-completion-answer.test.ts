// A multipart upload whose completion MinIO carried out but whose answer was
// lost on the way back (a proxy or the network cut the connection): the
// retry finds the upload gone (NoSuchUpload) and must take the object that
// is there, of the size sent, as its own. Failing the store instead would
// throw away a complete large upload and make the caller send it all again.

import * as assert from 'node:assert/strict';
import type * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { daemonEnv } from '../support/daemon-env';
import { startForwardingProxy } from '../support/forwarding-proxy';
import { spawnDaemon } from '../support/daemon-process';
import { jpegBytes, sha256 } from '../support/image-bytes';
import { incompleteUploadsOf } from '../support/incomplete-uploads';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';
import { StorageClient } from '../../src/sidecar-client/storage-client';

const MIB = 1024 * 1024;

/** A completion: POST ?uploadId=… without a part number (CreateMultipartUpload is POST ?uploads). */
const isCompletion = (req: http.IncomingMessage) => req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '') && !/[?&]partNumber=/.test(req.url ?? '');

/**
 * Forwards everything to MinIO, except that the first completion's answer,
 * once MinIO has given it in full, is dropped and the caller's connection cut.
 */
async function startAnswerLosingProxy(t: TestContext, target: { host: string; port: number }): Promise<{ port: number; completions: number; lost: number }> {
  const state = { port: 0, completions: 0, lost: 0 };
  state.port = await startForwardingProxy(t, target, (req, res, answer) => {
    const completion = isCompletion(req);
    if (completion) state.completions++;
    if (completion && state.lost === 0) {
      answer.resume();
      answer.once('end', () => {
        state.lost++;
        req.socket.destroy();
      });
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  return state;
}

test('a multipart completion whose answer was lost: the store succeeds with the object MinIO assembled', { timeout: 120_000 }, async (t) => {
  const minio = await startMinio(t);
  const proxy = await startAnswerLosingProxy(t, { host: minio.endPoint, port: minio.port });
  const env = daemonEnv(tempDir(t), { ...minio, port: proxy.port }, {
    STORAGED_PART_BYTES: String(5 * MIB),
    STORAGED_SPOOL_THRESHOLD_BYTES: String(MIB),
    STORAGED_MAX_BODY_BYTES: String(64 * MIB),
  });
  const daemon = await spawnDaemon(t, env);
  const client = new StorageClient({ socketPath: daemon.socketPath, clientId: 'acme', callTimeoutMs: 60_000, retry: false });
  t.after(() => client.close());

  const body = jpegBytes(12 * MIB + 321);
  const stored = await client.storePhoto(body, { originalName: 'large.jpg', clientId: 'acme' });
  assert.equal(proxy.lost, 1, 'the first completion answer was dropped');
  assert.equal(proxy.completions, 2, 'the completion was sent again after its answer was lost');
  assert.equal(stored.size, body.length);
  assert.equal(stored.checksum, sha256(body));

  const read = Buffer.concat(await (await client.readPhoto(stored.id)).body.toArray());
  assert.equal(sha256(read), sha256(body), 'the photo reads back whole');
  assert.equal((await client.getPhoto(stored.id)).id, stored.id);
  const bucket = await minio.client.statObject(stored.bucket, stored.s3_key);
  assert.equal(bucket.size, body.length, 'the object MinIO assembled stays');
  assert.deepEqual(await incompleteUploadsOf(minio.client, stored.bucket), [], 'no upload is left open');
});
