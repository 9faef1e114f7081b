// One signed PUT of a whole object with the digest the daemon already has,
// through node:http(s) and this module's SigV4 signer: minio-js's putObject
// copies a Buffer body and hashes it again, and reads a file below its part
// size whole into memory, and the request it could be made with instead
// (makeRequestStreamAsync) is minio-js's @internal API. Over plain HTTP the
// payload's sha256 is signed, so MinIO refuses bytes that arrive different;
// over TLS the payload is unsigned (as minio-js does) and the digest travels
// as x-amz-checksum-sha256 for MinIO to verify instead.

import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Transport } from './idle-timeout-transport';
import type { S3Settings } from './s3-settings';
import { s3ErrorOfResponse } from './s3-error';
import { amzDate, hostOf, objectAddress } from './sigv4-encoding';
import { EMPTY_SHA256, SigV4HeaderSigner } from './sigv4-header-signer';

/** An InitiateMultipartUploadResult is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

export type ObjectWriterSettings = S3Settings;

export interface ObjectToPut {
  bucket: string;
  key: string;
  body: Buffer | Readable;
  size: number;
  contentType: string;
  /** Hex sha256 of the body. */
  sha256: string;
  /** More headers to send and sign (x-amz-meta-*), names in lower case. */
  headers?: Record<string, string>;
}

export class ObjectWriter {
  readonly #settings: ObjectWriterSettings;
  readonly #host: string;
  readonly #signer: SigV4HeaderSigner;

  constructor(
    settings: ObjectWriterSettings,
    private readonly transport: Transport,
    private readonly agent: http.Agent,
  ) {
    this.#settings = settings;
    this.#host = hostOf(settings.endPoint, settings.port, settings.useSSL);
    this.#signer = new SigV4HeaderSigner(settings.accessKey, settings.secretKey, settings.region);
  }

  /**
   * Begins a multipart upload (POST ?uploads) carrying `headers` (type and
   * x-amz-meta-*, which the completed object keeps); resolves with its upload id.
   * minio-js has this only as @internal API.
   */
  async initiateMultipart(bucket: string, key: string, headers: Record<string, string>, now: Date = new Date()): Promise<string> {
    const { useSSL, endPoint, port } = this.#settings;
    const { host, path } = objectAddress(this.#settings.pathStyle ?? true, useSSL, this.#host, bucket, key);
    const stamp = amzDate(now);
    const signed: Array<[string, string]> = [
      ['host', host],
      ['x-amz-content-sha256', EMPTY_SHA256],
      ['x-amz-date', stamp],
      ...Object.entries(headers).map(([name, value]): [string, string] => [name.toLowerCase(), value]),
    ];
    const authorization = this.#signer.authorization({ method: 'POST', path, query: 'uploads=', headers: signed, payloadHash: EMPTY_SHA256 }, stamp);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = this.transport.request(
        {
          host: endPoint,
          ...(useSSL && host !== this.#host && { servername: host.replace(/:\d+$/, '') }),
          port,
          method: 'POST',
          path: `${path}?uploads`,
          headers: { ...Object.fromEntries(signed), authorization, 'content-length': '0' },
          agent: this.agent,
        },
        resolve,
      );
      request.once('error', reject);
      request.end();
    });
    if (res.statusCode !== 200) throw await s3ErrorOfResponse(res);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES) throw new Error(`MinIO's answer to a multipart initiation exceeds ${MAX_ANSWER_BYTES} bytes`);
      chunks.push(chunk);
    }
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
    if (uploadId === undefined) throw new Error('MinIO answered a multipart initiation without an UploadId');
    return uploadId;
  }

  /** Resolves once MinIO has answered 200 (the object is durable); rejects with S3's error or the connection's. */
  async put(object: ObjectToPut, now: Date = new Date()): Promise<void> {
    const { useSSL, endPoint, port } = this.#settings;
    const { host, path } = objectAddress(this.#settings.pathStyle ?? true, useSSL, this.#host, object.bucket, object.key);
    const stamp = amzDate(now);
    const payloadHash = useSSL ? 'UNSIGNED-PAYLOAD' : object.sha256;
    const signed: Array<[string, string]> = [
      ['host', host],
      ['content-type', object.contentType],
      ['content-length', String(object.size)],
      ['x-amz-content-sha256', payloadHash],
      ['x-amz-date', stamp],
      ...Object.entries(object.headers ?? {}).map(([name, value]): [string, string] => [name.toLowerCase(), value]),
    ];
    if (useSSL) signed.push(['x-amz-checksum-sha256', Buffer.from(object.sha256, 'hex').toString('base64')]);
    const authorization = this.#signer.authorization({ method: 'PUT', path, query: '', headers: signed, payloadHash }, stamp);
    const request = this.transport.request({
      host: endPoint,
      ...(useSSL && host !== this.#host && { servername: host.replace(/:\d+$/, '') }),
      port,
      method: 'PUT',
      path,
      headers: { ...Object.fromEntries(signed), authorization },
      agent: this.agent,
    });
    await sendBody(request, object.body);
  }
}

/**
 * Sends a PUT's body and resolves with MinIO's 200 answer, drained; rejects
 * with S3's error for any other status. A failing body (a cancel, a file
 * error) destroys the request with its error, which rejects too. An answer
 * that comes before the body is all sent (a refusal) wins over the broken
 * pipe that follows it. Shared with the workers' part uploads.
 */
export async function sendBody(request: http.ClientRequest, body: Buffer | Readable): Promise<http.IncomingMessage> {
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const sent = Buffer.isBuffer(body) ? new Promise<void>((resolve) => request.end(body, resolve)) : pipeline(body, request);
  sent.catch(() => undefined);
  const res = await answered;
  if (res.statusCode !== 200) {
    const refusal = await s3ErrorOfResponse(res);
    // Nothing more of the body is wanted; the agent drops the socket.
    request.destroy();
    throw refusal;
  }
  res.resume();
  await Promise.all([sent, finished(res)]);
  return res;
}
