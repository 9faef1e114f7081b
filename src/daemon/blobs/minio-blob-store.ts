// Blobs in MinIO (or any S3-compatible store) through the minio client, with
// URLs signed locally by SigV4Presigner. Given the worker pool, a spooled body
// larger than one part goes up as a multipart upload from the pool's threads,
// and reads larger than one download part come back in parts through them
// (multipart-put.ts, read-in-parts.ts); a read of one part is one request
// from the main thread.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import * as Minio from 'minio';
import type { Piscina } from 'piscina';
import { NotFoundError, UnavailableError } from '../../protocol/errors';
import type { Logger } from '../logger';
import type { MemoryBudget } from '../memory/memory-budget';
import { isOlderThan, type BlobHead, type BlobInfo, type BlobSource, type BlobStore, type ByteRange, type GrowingPuts, type IncompleteUpload, type ListedBlob } from './blob-store';
import { isNotFound, mapMinioError } from '../../s3/minio-errors';
import { idleTimeoutTransport } from '../../s3/idle-timeout-transport';
import { incompleteUploadsIn } from './minio-incomplete-uploads';
import { GrowingMultipartPut, multipartPut } from './multipart-put';
import type { PartTransfers } from './part-transfers';
import { DOWNLOAD_PART_BYTES, readInParts } from './read-in-parts';
import { S3Endpoint } from '../../s3/s3-endpoint';
import { identityFromMetadata, identityHeaders, type ObjectIdentity } from './object-identity';
import { responseOverrides, type ServedAs } from '../../s3/safe-serving';
import { SigV4Presigner } from '../../s3/sigv4-presigner';
import { ObjectWriter } from '../../s3/put-object';
import type { S3Settings } from '../../s3/s3-settings';
import { DEFAULT_RETRY, type RetryPolicy } from './transfer-retry';

/** S3Settings with the region optional: us-east-1, MinIO's own default (giving it spares a region lookup per bucket). */
export interface MinioConnection extends Omit<S3Settings, 'region'> {
  region?: string;
  /** A request whose connection is silent this long fails as UNAVAILABLE. */
  idleTimeoutMs?: number;
}

/** The worker pool and the multipart sizes (DaemonConfig.multipart). */
export interface PooledTransfers {
  pool: Piscina;
  partBytes: number;
  concurrency: number;
  retry?: RetryPolicy;
  budget?: MemoryBudget;
  readAhead?: number;
}

/** Long enough for a busy MinIO to answer a large PUT's last byte, short enough that a hung one is noticed. */
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** A health check must answer quickly even when MinIO accepts connections but hangs. */
const PING_TIMEOUT_MS = 3000;

export class MinioBlobStore implements BlobStore {
  readonly kind = 'minio' as const;
  readonly #client: Minio.Client;
  readonly #presigner: SigV4Presigner;
  readonly #where: string;
  readonly #logger: Logger;
  readonly #writer: ObjectWriter;
  readonly #transfers: PartTransfers | null;
  readonly growingPuts: GrowingPuts | null;

  constructor(connection: MinioConnection, logger: Logger, pooled?: PooledTransfers) {
    const settings = { ...connection, region: connection.region ?? 'us-east-1', pathStyle: connection.pathStyle ?? true };
    this.#where = `${settings.endPoint}:${settings.port}`;
    this.#logger = logger;
    // Keep-alive with room for the parallel transfers of many concurrent stores.
    const agentOptions = { keepAlive: true, maxSockets: 64 };
    // Virtual-hosted requests name `bucket.endpoint`; they connect to the endpoint all the same.
    const transport = idleTimeoutTransport(settings.useSSL, connection.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, settings.endPoint);
    const agent = settings.useSSL ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#writer = new ObjectWriter(settings, transport, agent);
    this.#client = new Minio.Client({
      endPoint: settings.endPoint,
      port: settings.port,
      useSSL: settings.useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      pathStyle: settings.pathStyle,
      transport,
      transportAgent: agent,
    });
    this.#presigner = new SigV4Presigner(settings);
    const endpointSettings = { ...settings, idleTimeoutMs: connection.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS };
    this.#transfers =
      pooled === undefined
        ? null
        : {
            pool: pooled.pool,
            settings: endpointSettings,
            // As many kept connections as the agent's sockets: with only a worker's 16, the 17th
            // small read in flight closed its connection after use, and the next paid a handshake.
            endpoint: new S3Endpoint(endpointSettings, {}, agentOptions.maxSockets),
            client: this.#client,
            writer: this.#writer,
            partBytes: pooled.partBytes,
            concurrency: pooled.concurrency,
            retry: pooled.retry ?? DEFAULT_RETRY,
            logger,
            ...(pooled.budget && { budget: pooled.budget }),
            ...(pooled.readAhead !== undefined && { readAhead: pooled.readAhead }),
          };
    const transfers = this.#transfers;
    // Past one part a body is multipart anyway, so its parts can go up while the rest arrives.
    this.growingPuts =
      transfers === null
        ? null
        : { fromBytes: transfers.partBytes, open: (target, after) => new GrowingMultipartPut(transfers, target, after) };
  }

  async #run<T>(action: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw mapMinioError(err, this.#where, action);
    }
  }

  async ensureBuckets(buckets: readonly string[]): Promise<void> {
    for (const bucket of buckets) {
      await this.#run(`create bucket ${bucket}`, async () => {
        if (await this.#client.bucketExists(bucket)) return;
        try {
          await this.#client.makeBucket(bucket);
          this.#logger.info({ bucket, minio: this.#where }, 'created bucket');
        } catch (err) {
          // Another daemon (or an operator) made it in the meantime.
          const code = (err as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
        }
      });
    }
  }

  /**
   * One signed PUT. minio-js's putObject copies a Buffer body and hashes it
   * again for the signature, and reads a file below its part size whole into
   * memory; the daemon already has the digest, so the request is made directly:
   * one hash fewer per store, a file streamed, and over plain HTTP MinIO checks
   * the signed payload digest, so bytes that arrive different are refused.
   * Over TLS the payload is unsigned (as in minio-js) and the digest travels as
   * x-amz-checksum-sha256 for MinIO to verify instead.
   *
   * With the pool, a spooled body larger than one part goes up as a multipart
   * upload instead: MinIO then verifies each part's own digest, not `sha256`,
   * so the caller checks the whole body's digest itself (hashFileIn).
   */
  async put(
    bucket: string,
    key: string,
    source: BlobSource,
    size: number,
    contentType: string,
    sha256?: string,
    signal?: AbortSignal,
    identity?: ObjectIdentity,
  ): Promise<void> {
    if (this.#transfers !== null && 'path' in source && size > this.#transfers.partBytes) {
      await multipartPut(this.#transfers, { bucket, key, path: source.path, size, contentType, ...(signal && { signal }), ...(identity && { identity }) });
      return;
    }
    await this.#run(`store ${bucket}/${key}`, async () => {
      const digest = sha256 ?? (await sha256Of(source));
      const body = 'buffer' in source ? source.buffer : fs.createReadStream(source.path);
      try {
        await this.#writer.put({ bucket, key, body, size, contentType, sha256: digest, ...(identity && { headers: identityHeaders(identity) }) });
      } finally {
        if (!('buffer' in source)) (body as fs.ReadStream).destroy();
      }
    });
  }

  async stat(bucket: string, key: string): Promise<BlobInfo | null> {
    return this.#run(`stat ${bucket}/${key}`, async () => {
      try {
        const info = await this.#client.statObject(bucket, key);
        return { size: info.size, lastModified: info.lastModified };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async head(bucket: string, key: string): Promise<BlobHead | null> {
    return this.#run(`stat ${bucket}/${key}`, async () => {
      try {
        const info = await this.#client.statObject(bucket, key);
        return { size: info.size, lastModified: info.lastModified, identity: identityFromMetadata(info.metaData) };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async identity(bucket: string, key: string): Promise<ObjectIdentity | null> {
    return (await this.head(bucket, key))?.identity ?? null;
  }

  async remove(bucket: string, key: string): Promise<void> {
    // S3 answers a DELETE of a missing key with success, so removal is idempotent already.
    await this.#run(`remove ${bucket}/${key}`, () => this.#client.removeObject(bucket, key));
  }

  async presignedGetUrl(bucket: string, key: string, expirySeconds: number, served?: ServedAs): Promise<string> {
    return this.#presigner.presignGet(bucket, key, expirySeconds, new Date(), responseOverrides(served));
  }

  async read(bucket: string, key: string, range?: ByteRange, size?: number): Promise<Readable> {
    // A span of at most one download part (a range, or a whole object whose
    // size the catalog knows) is one request from the main thread, into one
    // slot, handed on whole: no trip through the pool (issue 13: a 200 KB
    // photo went through it in 2 MiB parts), and no minio-js request or
    // node:http parsing, which cost the daemon about half again as much per
    // 200 KB photo as this does (gateway.download.200k.c16). Anything larger, or
    // a whole object of unknown size (the first part's answer tells it), or
    // an empty one (S3 refuses any range of it), goes through the parts.
    const t = this.#transfers;
    const span = range === undefined ? size : range.end - range.start + 1;
    if (t !== null && span !== undefined && span > 0 && span <= DOWNLOAD_PART_BYTES) {
      const one = { bucket, key, onThisThread: true };
      return readInParts(t, range === undefined ? { ...one, range: { start: 0, end: span - 1 }, objectSize: span } : { ...one, range });
    }
    if (t !== null) return readInParts(t, range === undefined ? { bucket, key } : { bucket, key, range });
    return this.#run(`read ${bucket}/${key}`, async () => {
      try {
        return range === undefined
          ? await this.#client.getObject(bucket, key)
          : await this.#client.getPartialObject(bucket, key, range.start, range.end - range.start + 1);
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError(`blob ${bucket}/${key} does not exist`, { cause: err });
        throw err;
      }
    });
  }

  async *list(bucket: string, prefix = ''): AsyncIterable<ListedBlob> {
    const stream = this.#client.listObjectsV2(bucket, prefix, true);
    try {
      for await (const item of stream as AsyncIterable<Minio.BucketItem>) {
        // Prefix entries have no name; with recursive listing there are none, but the type allows them.
        if (item.name === undefined) continue;
        yield { key: item.name, size: item.size, lastModified: item.lastModified, ...(item.etag ? { etag: item.etag.toLowerCase() } : {}) };
      }
    } catch (err) {
      throw mapMinioError(err, this.#where, `list ${bucket}`);
    } finally {
      stream.destroy();
    }
  }

  async abortIncompleteUploads(bucket: string, olderThanMs: number, key?: string, spare?: (key: string) => boolean | Promise<boolean>): Promise<number> {
    const now = Date.now();
    let aborted = 0;
    for await (const upload of incompleteUploadsIn(this.#client, this.#where, bucket, key)) {
      if (!isOlderThan(upload.initiated, olderThanMs, now) || (await spare?.(upload.key)) === true) continue;
      await this.#run(`abort upload of ${bucket}/${upload.key}`, () =>
        this.#client.abortMultipartUpload(bucket, upload.key, upload.uploadId),
      );
      aborted++;
    }
    if (aborted > 0) this.#logger.info({ bucket, aborted }, 'aborted incomplete multipart uploads');
    return aborted;
  }

  incompleteUploads(bucket: string, key?: string): AsyncIterable<IncompleteUpload> {
    return incompleteUploadsIn(this.#client, this.#where, bucket, key);
  }

  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError(`MinIO at ${this.#where} is unreachable: no answer within ${PING_TIMEOUT_MS} ms`)),
        PING_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.#run('reach the server', () => this.#client.listBuckets()), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function sha256Of(source: BlobSource): Promise<string> {
  const hash = createHash('sha256');
  if ('buffer' in source) return hash.update(source.buffer).digest('hex');
  for await (const chunk of fs.createReadStream(source.path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
