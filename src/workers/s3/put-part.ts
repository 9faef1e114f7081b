// One part of a multipart upload (PUT ?partNumber=N&uploadId=…), its body
// streamed from the caller's Readable through the endpoint's keep-alive agent.

import type { Readable } from 'node:stream';
import { sendBody } from '../../s3/put-object';
import { badResponse } from '../../s3/s3-error';
import { uriEncode } from '../../s3/sigv4-encoding';
import type { S3Endpoint } from '../../s3/s3-endpoint';

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
  const res = await sendBody(request, part.body);
  const etag = String(res.headers.etag ?? '').replace(/^"|"$/g, '');
  if (etag === '') throw badResponse('MinIO answered without an ETag');
  return etag;
}
