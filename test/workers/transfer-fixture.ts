// What the worker tests share: a pool on the compiled tasks, PartTransfers
// aimed at a test MinIO, and generated files (never committed).

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { Piscina } from 'piscina';
import pino from 'pino';
import type { PartTransfers } from '../../src/daemon/blobs/part-transfers';
import type { RetryPolicy } from '../../src/daemon/blobs/transfer-retry';
import { createWorkerPool } from '../../src/daemon/workers/worker-pool';
import { idleTimeoutTransport } from '../../src/s3/idle-timeout-transport';
import { ObjectWriter } from '../../src/s3/put-object';
import { S3Endpoint } from '../../src/s3/s3-endpoint';
import { startMinio, type MinioHandle } from '../support/minio-server';

export const MIB = 1024 * 1024;

export function testPool(t: TestContext | { after(fn: () => unknown): void }, threads = 2): Piscina {
  const pool = createWorkerPool(threads);
  t.after(() => pool.close());
  return pool;
}

export function transfersFor(
  minio: MinioHandle,
  pool: Piscina,
  options: { partBytes?: number; concurrency?: number; retry?: RetryPolicy } = {},
): PartTransfers {
  const { endPoint, port, useSSL, accessKey, secretKey } = minio;
  const settings = { endPoint, port, useSSL, accessKey, secretKey, region: 'us-east-1', idleTimeoutMs: 30_000 };
  return {
    pool,
    settings,
    endpoint: new S3Endpoint(settings),
    client: minio.client,
    writer: new ObjectWriter(settings, idleTimeoutTransport(false, 30_000), new http.Agent({ keepAlive: true })),
    partBytes: options.partBytes ?? 5 * MIB,
    concurrency: options.concurrency ?? 4,
    retry: options.retry ?? { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
    logger: pino({ level: 'silent' }),
  };
}

/** Writes `size` random bytes to dir/name in 1 MiB steps; returns the path and its sha256. */
export function randomFile(dir: string, name: string, size: number): { path: string; sha256: string; bytes: Buffer } {
  const file = path.join(dir, name);
  const bytes = randomBytes(size);
  fs.writeFileSync(file, bytes);
  return { path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export async function sha256OfStream(stream: AsyncIterable<Buffer | Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** With `key`: MinIO lists an upload begun before its last restart only under its exact key. */
export async function incompleteUploads(minio: MinioHandle, bucket: string, key = ''): Promise<string[]> {
  const found: string[] = [];
  for await (const upload of minio.client.listIncompleteUploads(bucket, key, true)) found.push(upload.key);
  return found;
}

/** Waits for a condition the code under test brings about; the cap only stops a hung test. */
export async function until(condition: () => boolean, what: string, capMs = 60_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A MinIO with `bucket`, and a random file of `size` bytes in a fresh temp dir, for a describe's before(). */
export async function minioWithBody(
  bucket: string,
  size: number,
  dirPrefix: string,
): Promise<{ minio: MinioHandle; dir: string; body: { path: string; sha256: string } }> {
  const minio = await startMinio();
  await minio.client.makeBucket(bucket);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  return { minio, dir, body: randomFile(dir, 'body.bin', size) };
}

/** Undoes minioWithBody, for the describe's after(). */
export async function disposeMinioWithBody(minio: MinioHandle, dir: string): Promise<void> {
  await minio.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}
