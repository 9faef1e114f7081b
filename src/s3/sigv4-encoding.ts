// The text SigV4 signs, as both of its forms write it: presigned URLs
// (sigv4-presigner.ts) and Authorization headers (sigv4-header-signer.ts).

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const NEEDS_NO_ENCODING = /^[A-Za-z0-9\-._~/]*$/;

/** A key's path, '/' kept between encoded segments. */
export function encodePath(key: string): string {
  // The daemon's own keys (2026/11/<uuid>.jpg) need no encoding: skip the split and map.
  return NEEDS_NO_ENCODING.test(key) ? key : key.split('/').map(uriEncode).join('/');
}

/** Path-style: the bucket is the first segment, never a host name. */
export function objectPath(bucket: string, key: string): string {
  return `/${uriEncode(bucket)}/${encodePath(key)}`;
}

/**
 * Where a request for bucket/key goes: path style (`host/bucket/key`, MinIO's
 * default) or virtual-hosted style (`bucket.host/key`, what AWS S3 and others
 * want; MinIO with MINIO_DOMAIN set). The connection always goes to the
 * configured endpoint; the Host header names the bucket. A bucket with a dot
 * stays path style over TLS, where `a.b.host` would not match a wildcard
 * certificate (as minio-js does).
 */
export function objectAddress(pathStyle: boolean, useSSL: boolean, host: string, bucket: string, key: string): { host: string; path: string } {
  if (pathStyle || (useSSL && bucket.includes('.'))) return { host, path: objectPath(bucket, key) };
  return { host: `${bucket}.${host}`, path: `/${encodePath(key)}` };
}

/** The Host header (and signed host) of an endpoint: the port only when it is not the scheme's default. */
export function hostOf(endPoint: string, port: number, useSSL: boolean): string {
  return port === (useSSL ? 443 : 80) ? endPoint : `${endPoint}:${port}`;
}

/** X-Amz-Date: 20130524T000000Z. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, '');
}
