// One part of a multipart upload (PUT ?partNumber=N&uploadId=…), its body
// streamed from the caller's Readable through the endpoint's keep-alive agent.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { uriEncode } from '../../s3/sigv4-encoding';
import { badResponse } from './response-reader';
import { s3ErrorOfResponse } from '../../s3/s3-error';
import type { S3Endpoint } from './s3-endpoint';

export interface PartToPut {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  /** Exactly `size` bytes. */
  body: Readable;
  size: number;
  /** The body's hex sha256, or UNSIGNED-PAYLOAD (over TLS, which guards the bytes in transit). */
  payloadHash: string;
}

/** Resolves with the part's ETag, quotes removed. */
export async function putPart(ep: S3Endpoint, part: PartToPut): Promise<string> {
  const { host, path } = ep.address(part.bucket, part.key);
  // Sorted by name, as the canonical query wants.
  const query = `partNumber=${part.partNumber}&uploadId=${uriEncode(part.uploadId)}`;
  const headers = ep.signedHeaders({ method: 'PUT', host, path, query, extra: [], payloadHash: part.payloadHash });
  headers.push(['content-length', String(part.size)]);
  const request = ep.transport.request({ host: ep.endPoint, port: ep.port, method: 'PUT', path: `${path}?${query}`, headers: Object.fromEntries(headers), agent: ep.agent });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  // A failing body (a cancel, a file error) destroys the request with its
  // error, so `answered` rejects with it. An answer that comes before the body
  // is all sent (a refusal) wins over the broken pipe that follows it.
  const sent = pipeline(part.body, request);
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
  const etag = String(res.headers.etag ?? '').replace(/^"|"$/g, '');
  if (etag === '') throw badResponse('MinIO answered without an ETag');
  return etag;
}
